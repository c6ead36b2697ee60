"""Usernames arriving from the server that this laptop holds under another user.

A username is unique on each laptop (the login looks it up) and, on the server, among a
dealer's live users. A row pulled from the server can still meet a local user of the same
name with another id:

* a user made on this laptop before it first synced (the first run's administrator, say), or
  made offline while another laptop made the same name: the server refuses it or has never
  seen it;
* a user of the server's whose later change of name is still to come in a later page.

The server's row takes the name. The local user moves aside to the first free ``name.2``,
``name.3``, ... and keeps everything else: an unsent user goes up under that name, a refused
one stays for review, and a server's user gets its own name back with the page that brings it.
A user of this laptop's own is noted (``SyncKeys.MOVED_USERNAMES``) for the login dialog to
tell its owner the new name.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from sqlalchemy import Connection

from showroom.models import User
from showroom.models.local import SyncKeys
from sync.local.store import read_state, write_state

log = logging.getLogger(__name__)

USER_TABLE = User.__tablename__
MAX_LENGTH = User.__table__.c.username.type.length


def make_way(conn: Connection, incoming: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """Move aside every local user holding the name of an incoming ``(id, username)`` under
    another id; returns ``{moved user id: its new name}``."""
    incoming = [(row_id, name) for row_id, name in incoming if name]
    arriving = {name for _, name in incoming}
    moved: dict[str, str] = {}
    own: dict[str, str] = {}
    for row_id, name in incoming:
        holders = conn.exec_driver_sql(
            f"SELECT id, server_version FROM {USER_TABLE} WHERE username = ? AND id != ?",
            (name, row_id),
        ).all()
        for holder, version in holders:
            new = _free_name(conn, name, arriving)
            conn.exec_driver_sql(
                f"UPDATE {USER_TABLE} SET username = ? WHERE id = ?", (new, holder)
            )
            moved[holder] = new
            if not version:  # the server never had it: this laptop's own
                own[name] = new
            log.warning("username %r is the server's: local user %s is now %r", name, holder, new)
    if own:
        try:
            noted = json.loads(read_state(conn, SyncKeys.MOVED_USERNAMES) or "{}")
        except ValueError:
            noted = None
        kept = noted if isinstance(noted, dict) else {}  # only a note: a damaged one goes
        write_state(conn, SyncKeys.MOVED_USERNAMES, json.dumps({**kept, **own}))
    return moved


def _free_name(conn: Connection, name: str, arriving: set[str]) -> str:
    n = 2
    while True:
        suffix = f".{n}"
        candidate = name[: MAX_LENGTH - len(suffix)] + suffix
        taken = conn.exec_driver_sql(
            f"SELECT 1 FROM {USER_TABLE} WHERE username = ?", (candidate,)
        ).first()
        if taken is None and candidate not in arriving:
            return candidate
        n += 1
