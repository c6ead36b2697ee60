"""Shared fixtures: a freshly migrated database per test, and actors of each role."""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest

from showroom.actor import Actor
from showroom.db.engine import open_database
from showroom.services import dealer
from showroom.vocabulary import Role


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """One database migrated to head; each test gets a copy (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = open_database(path)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


MIDNIGHT_MARGIN_S = 30


@pytest.fixture
def today() -> dt.date:
    """The calendar day a date-dependent test runs on, the same from its start to its end.

    Such a test works out dates from this day and compares them with dates the code
    under test takes from the clock. Started in the last seconds before midnight, the
    two would fall on different days, so the fixture first waits for the new day.
    """
    now = dt.datetime.now()
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time())
    left = (midnight - now).total_seconds()
    if left < MIDNIGHT_MARGIN_S:
        time.sleep(left + 0.5)
    return dt.date.today()


@pytest.fixture
def db(tmp_path, migrated_template):
    path = tmp_path / "showroom.db"
    shutil.copy(migrated_template, path)
    database = open_database(path)
    yield database
    database.dispose()


@pytest.fixture
def staff(db) -> dict[str, Actor]:
    """A manager and two salespeople, as actors."""
    with db.session_scope() as session:
        admin = dealer.system_actor(session)
        users = {
            "manager": dealer.create_user(session, admin, "manager1", "周经理", Role.MANAGER),
            "sales": dealer.create_user(session, admin, "sales1", "李娜", Role.SALESPERSON),
            "sales2": dealer.create_user(session, admin, "sales2", "王磊", Role.SALESPERSON),
        }
    return {
        key: Actor(user_id=u.id, display_name=u.display_name, role=Role(u.role))
        for key, u in users.items()
    }


@pytest.fixture
def sales(staff) -> Actor:
    return staff["sales"]


@pytest.fixture
def manager(staff) -> Actor:
    return staff["manager"]
