"""Demo data: counts, determinism, valid identifiers, plausible proportions, no sync ops."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from showroom import validation
from showroom.actor import Actor
from showroom.db.engine import open_database
from showroom.demo import CUSTOMER_TABLES, DemoSummary, generate_demo_data
from showroom.errors import ValidationError
from showroom.models import Customer, CustomerPhone, FollowUp, Trim
from showroom.search import fold_query, ranked_customer_ids
from showroom.vocabulary import Role

CUSTOMERS = 300
SEED = 7
# One anchor day for every database in this module, so "same seed" really means same rows.
TODAY = dt.date.today()

_TABLES = (
    "dealer",
    "app_user",
    "catalogue_trim",
    "catalogue_option",
    "catalogue_colour",
    *CUSTOMER_TABLES,
)


def _generate(path, seed=SEED, customers=CUSTOMERS, **kwargs):
    db = open_database(path)
    summary = generate_demo_data(db, customers, seed=seed, today=TODAY, **kwargs)
    return db, summary


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db, summary = _generate(tmp_path_factory.mktemp("demo") / "demo.db")
    yield db, summary
    db.dispose()


@pytest.fixture
def conn(demo):
    db, _ = demo
    with db.engine.connect() as connection:
        yield connection


def _rows(conn, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def _count(conn, table: str) -> int:
    return conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()


def _schema(conn) -> list[tuple]:
    return _rows(conn, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")


def test_summary_matches_the_rows_written(demo, conn):
    _, summary = demo
    assert isinstance(summary, DemoSummary)
    assert summary.seed == SEED and summary.today == TODAY and summary.seconds > 0
    counts = summary.table_counts()
    for table in _TABLES:
        assert _count(conn, table) == counts[table], table
    assert counts["search_key"] == _count(conn, "search_key")

    assert counts["customer"] == CUSTOMERS
    assert counts["dealer"] == 1
    roles = Counter(r for (r,) in _rows(conn, "SELECT role FROM app_user"))
    assert roles == {"admin": 1, "manager": 2, "salesperson": 12, "service_advisor": 5}
    assert 25 <= counts["catalogue_trim"] <= 35
    per_trim = _rows(conn, "SELECT trim_id, count(*) FROM catalogue_option GROUP BY trim_id")
    assert all(2 <= n <= 4 for _, n in per_trim) and len(per_trim) == counts["catalogue_trim"]
    per_trim = _rows(conn, "SELECT trim_id, count(*) FROM catalogue_colour GROUP BY trim_id")
    assert all(3 <= n <= 5 for _, n in per_trim) and len(per_trim) == counts["catalogue_trim"]

    assert CUSTOMERS <= counts["customer_phone"] <= 1.6 * CUSTOMERS
    owners = conn.exec_driver_sql(
        "SELECT count(DISTINCT customer_id) FROM customer_vehicle"
    ).scalar_one()
    assert 0.35 * CUSTOMERS <= owners <= 0.55 * CUSTOMERS
    assert 2.5 <= counts["interaction"] / CUSTOMERS <= 3.5
    assert counts["consent"] >= CUSTOMERS


def test_same_seed_same_rows_other_seed_other_rows(demo, tmp_path):
    db, _ = demo
    again, _ = _generate(tmp_path / "again.db")
    other, _ = _generate(tmp_path / "other.db", seed=SEED + 1)
    try:

        def dump(database):
            with database.engine.connect() as c:
                customers = _rows(
                    c,
                    "SELECT * FROM customer ORDER BY id",
                )
                columns = list(c.exec_driver_sql("SELECT * FROM customer LIMIT 0").keys())
                device = columns.index("updated_by_device")
                customers = [r[:device] + r[device + 1 :] for r in customers]
                ids = {t: _rows(c, f"SELECT id FROM {t} ORDER BY id") for t in _TABLES}
            return customers, ids

        first, again_dump, other_dump = dump(db), dump(again), dump(other)
        # Everything but the database's own device id is identical, ids included.
        assert first == again_dump
        assert first[0] != other_dump[0]
        assert first[1]["customer"] != other_dump[1]["customer"]
    finally:
        again.dispose()
        other.dispose()


def test_ids_are_uuid7_in_creation_order(conn):
    import uuid

    rows = _rows(conn, "SELECT id, created_at FROM customer ORDER BY created_at")
    for customer_id, _ in rows:
        parsed = uuid.UUID(customer_id)
        assert str(parsed) == customer_id
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    days = [r[1][:10] for r in rows]
    by_id = sorted(rows)
    # Ids carry the creation time: sorting by id sorts by creation day.
    assert [r[1][:10] for r in by_id] == days


def test_every_identifier_is_already_normalised(conn):
    phones = [n for (n,) in _rows(conn, "SELECT number FROM customer_phone")]
    phones += [n for (n,) in _rows(conn, "SELECT phone FROM app_user")]
    phones += [n for (n,) in _rows(conn, "SELECT phone FROM dealer")]
    for number in phones:
        assert validation.normalize_phone(number) == number
        assert validation.phone_search_key(number) == number.removeprefix("+86")
    assert len(set(phones)) == len(phones)

    vehicles = _rows(conn, "SELECT vin, plate FROM customer_vehicle")
    vins = [v for v, _ in vehicles]
    plates = [p for _, p in vehicles if p]
    for vin in vins:
        assert validation.normalize_vin(vin) == vin
    for plate in plates:
        assert validation.normalize_plate(plate) == plate
    assert len(set(vins)) == len(vins) and len(set(plates)) == len(plates)
    lengths = Counter(len(p) for p in plates)
    assert lengths[7] and lengths[8]  # ordinary and new-energy plates
    assert {p[0] for p in plates} == {"粤"}

    people = _rows(
        conn,
        "SELECT name, contact_name, email, gender, birthday, id_number FROM customer",
    )
    with_id = 0
    for name, contact, email, gender, birthday, id_number in people:
        assert validation.normalize_name(name) == name
        if contact:
            assert validation.normalize_name(contact) == contact
        if email:
            assert validation.normalize_email(email).lower() == email
        if id_number:
            with_id += 1
            assert validation.normalize_id_number(id_number) == id_number
            assert id_number.startswith("44")  # Guangdong, the dealer's province
            assert validation.id_number_birthday(id_number).isoformat() == birthday
            assert validation.id_number_gender(id_number) == gender
        if birthday:
            age = (TODAY - dt.date.fromisoformat(birthday)).days / 365.25
            assert 22 <= age < 66
    persons = sum(1 for p in people if p[3])
    assert 0.55 * persons <= with_id <= 0.85 * persons


def test_proportions_are_plausible(conn):
    customers = _rows(
        conn,
        "SELECT kind, intent_level, lifecycle_stage, lost_approval, expected_purchase_date,"
        " vip, name FROM customer",
    )
    levels = Counter(c[1] for c in customers)
    assert set(levels) == {"H", "A", "B", "C", "O", "F", None}
    assert levels["B"] > levels["H"] and levels["C"] > levels["H"]
    kinds = Counter(c[0] for c in customers)
    assert 0.02 * CUSTOMERS <= kinds["company"] <= 0.15 * CUSTOMERS
    assert sum(c[5] for c in customers) <= 0.1 * CUSTOMERS
    names = [c[6] for c in customers if c[0] == "person"]
    assert sum(len(n) == 2 for n in names) >= 0.1 * len(names)  # 王芳, 李强...
    for kind, level, stage, lost, expected, _, name in customers:
        if kind == "company":
            assert name.endswith("有限公司")
        if level == "O":
            assert stage == "customer"
        if level == "F":
            assert lost in ("pending", "approved")
            assert (stage == "lost") == (lost == "approved")
        else:
            assert lost is None
        assert (expected is not None) == (level == "C")
        if level is None:
            assert stage in ("owner", "lapsed")


def test_histories_end_at_the_current_level(conn):
    levels = dict(_rows(conn, "SELECT id, intent_level FROM customer"))
    history: dict[str, list[tuple]] = {}
    for row in _rows(
        conn,
        "SELECT customer_id, from_level, to_level, approval FROM intent_change"
        " ORDER BY customer_id, changed_at",
    ):
        history.setdefault(row[0], []).append(row)
    for customer_id, level in levels.items():
        changes = history.get(customer_id, [])
        if level is None:
            assert not changes
            continue
        assert 1 <= len(changes) <= 3
        assert changes[0][1] is None and changes[-1][2] == level
        for before, after in itertools.pairwise(changes):
            assert after[1] == before[2]

    open_tasks = _rows(
        conn,
        "SELECT c.intent_level, f.due FROM follow_up f JOIN customer c ON c.id = f.customer_id"
        " WHERE NOT f.done",
    )
    active = {lv for lv, _ in open_tasks}
    assert {"H", "A", "B", "C"} <= active
    overdue = sum(due < TODAY.isoformat() for _, due in open_tasks)
    assert 0 < overdue < 0.5 * len(open_tasks)
    for customer_id, level in levels.items():
        if level in ("H", "A", "B", "C"):
            assert (
                conn.exec_driver_sql(
                    "SELECT count(*) FROM follow_up WHERE customer_id = ? AND NOT done",
                    (customer_id,),
                ).scalar_one()
                == 1
            )
    done = _rows(conn, "SELECT done_at, outcome, interaction_id FROM follow_up WHERE done")
    assert done and all(d[0] and d[1] and d[2] for d in done)


def test_orm_reads_the_rows_back_with_their_types(demo):
    db, _ = demo
    with db.session_scope(write=False) as session:
        trims = session.scalars(select(Trim)).all()
        assert all(isinstance(t.msrp, Decimal) and t.msrp > 50_000 for t in trims)
        assert Decimal("139900.00") in {t.msrp for t in trims}
        customer = session.scalars(select(Customer).order_by(Customer.id)).first()
        assert customer.created_at.tzinfo is not None
        assert customer.created_at < dt.datetime.now(dt.UTC)
        phones = session.scalars(
            select(CustomerPhone).where(CustomerPhone.customer_id == customer.id)
        ).all()
        assert [p.is_primary for p in phones].count(True) == 1
        task = session.scalars(select(FollowUp).where(FollowUp.done.is_(False))).first()
        assert isinstance(task.due, dt.date)


def test_no_sync_ops_and_the_demo_flag(conn):
    assert _count(conn, "sync_outbox") == 0
    flag = conn.exec_driver_sql("SELECT value FROM local_state WHERE key = 'demo'").scalar()
    assert flag == "1"


def test_search_finds_a_customer_by_the_last_four_digits_of_their_phone(demo, conn):
    db, _ = demo
    picks = _rows(
        conn,
        "SELECT customer_id, number FROM customer_phone WHERE is_primary ORDER BY id LIMIT 5",
    )
    for customer_id, number in picks:
        found = ranked_customer_ids(conn, fold_query(number[-4:]), 10)
        assert customer_id in [cid for cid, _ in found]

    from showroom.services.customers import search_customers

    customer_id, number = picks[0]
    actor = Actor(user_id=None, display_name="test", role=Role.MANAGER)
    with db.session_scope(write=False) as session:
        hits = search_customers(session, actor, number[-4:], limit=10)
    assert customer_id in [h.id for h in hits]


def test_refuses_a_database_that_has_customers(demo, conn):
    db, _ = demo
    before = _count(conn, "customer")
    with pytest.raises(ValidationError) as raised:
        generate_demo_data(db, 10, seed=1)
    assert raised.value.field == "db"
    assert _count(conn, "customer") == before


@pytest.mark.parametrize("customers", [0, -5, 2_000_001])
def test_refuses_a_bad_number_of_customers(tmp_path, customers):
    db = open_database(tmp_path / "demo.db")
    try:
        with pytest.raises(ValidationError) as raised:
            generate_demo_data(db, customers)
        assert raised.value.field == "customers"
        assert raised.value.message_zh and raised.value.message_en
    finally:
        db.dispose()


def test_progress_grows_to_the_total_and_the_schema_is_unchanged(tmp_path):
    db = open_database(tmp_path / "demo.db")
    try:
        with db.engine.connect() as c:
            schema = _schema(c)
        calls: list[tuple[int, int]] = []
        generate_demo_data(db, 50, progress=lambda done, total: calls.append((done, total)))
        assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1]
        assert all(b[0] >= a[0] and b[1] == a[1] for a, b in itertools.pairwise(calls))
        with db.engine.connect() as c:
            # Secondary indexes are dropped while loading and rebuilt: same schema after.
            assert _schema(c) == schema
    finally:
        db.dispose()


def test_a_failure_leaves_nothing_behind(tmp_path):
    db = open_database(tmp_path / "demo.db")

    def cancel(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt  # e.g. the user closed the window

    try:
        with db.engine.connect() as c:
            schema = _schema(c)
        with pytest.raises(KeyboardInterrupt):
            generate_demo_data(db, 10, progress=cancel)
        with db.engine.connect() as c:
            assert _schema(c) == schema
            for table in _TABLES:
                assert _count(c, table) == 0, table
    finally:
        db.dispose()
