"""Instant customer search over names, phones, plates and VINs.

Every searchable value is folded (``validation.search_text``) and stored as all of its suffixes
of two characters or more in ``search_key``. Any fragment of a value is then the prefix of one
of those suffixes, which a B-tree answers with a short range scan instead of a table scan. The
suffix that is the whole value is marked ``is_start``: that gives the ranking exact, then
prefix, then substring without looking at any row twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Connection, text

from showroom.validation import phone_search_key, search_text

MIN_QUERY_LENGTH = 2
MAX_SUFFIX_LENGTH = 40
# Sorts after every character a key can hold, so [q, q + HIGH) is "starts with q".
HIGH = "\U0010ffff"
# Helper threads SQLite's sorter may use for a rebuild's millions of keys: the load is a
# third faster on two cores (docs/performance.md, "Eighth measurement").
SORT_THREADS = 2


def value_keys(value: str) -> Iterator[tuple[bool, str]]:
    """(is_start, suffix) for every suffix of ``value`` that is two characters or longer."""
    folded = value[:MAX_SUFFIX_LENGTH]
    for start in range(len(folded) - MIN_QUERY_LENGTH + 1):
        yield start == 0, folded[start:]


def customer_values(
    name: str,
    contact_name: str | None,
    phones: Iterable[str],
    plates: Iterable[str | None],
    vins: Iterable[str | None],
) -> dict[str, set[str]]:
    """The folded searchable values of one customer, by the field they come from."""
    values: dict[str, set[str]] = {"name": set(), "phone": set(), "plate": set(), "vin": set()}
    for n in (name, contact_name):
        if n:
            values["name"].add(search_text(n))
    values["phone"].update(phone_search_key(p) for p in phones if p)
    values["plate"].update(search_text(p) for p in plates if p)
    values["vin"].update(search_text(v) for v in vins if v)
    return values


def customer_keys(values: dict[str, set[str]]) -> set[tuple[bool, str]]:
    keys: set[tuple[bool, str]] = set()
    for field_values in values.values():
        for value in field_values:
            keys.update(value_keys(value))
    return keys


def customer_ids_touched_by(obj, *, inserted: bool = False) -> set[str]:
    """Customers whose search keys may change when ``obj`` is written."""
    from sqlalchemy import inspect

    from showroom.models import Customer, CustomerPhone, CustomerVehicle

    if isinstance(obj, Customer):
        return {obj.id} if obj.id else set()
    if isinstance(obj, CustomerPhone | CustomerVehicle):
        ids = {obj.customer_id} if obj.customer_id else set()
        if not inserted:
            history = inspect(obj).attrs.customer_id.history
            ids.update(i for i in history.deleted if i)
        return ids
    return set()


def reindex_customers(conn: Connection, customer_ids: Iterable[str]) -> None:
    """Rewrite the search keys of these customers from their current rows."""
    for customer_id in customer_ids:
        row = conn.execute(
            text(
                "SELECT name, contact_name, deleted, merged_into_id, erased_at"
                " FROM customer WHERE id = :id"
            ),
            {"id": customer_id},
        ).one_or_none()
        doc = conn.execute(
            text("SELECT doc FROM search_doc WHERE customer_id = :id"), {"id": customer_id}
        ).scalar()
        if doc is not None:
            conn.execute(text("DELETE FROM search_key WHERE doc = :doc"), {"doc": doc})
        # An erased customer (PIPL) is kept for counts but can no longer be found.
        if row is None or row.deleted or row.merged_into_id or row.erased_at:
            if doc is not None:
                conn.execute(text("DELETE FROM search_doc WHERE doc = :doc"), {"doc": doc})
            continue
        if doc is None:
            doc = conn.execute(
                text("INSERT INTO search_doc (customer_id) VALUES (:id) RETURNING doc"),
                {"id": customer_id},
            ).scalar_one()
        phones = conn.execute(
            text("SELECT number FROM customer_phone WHERE customer_id = :id AND NOT deleted"),
            {"id": customer_id},
        ).scalars()
        vehicles = conn.execute(
            text("SELECT plate, vin FROM customer_vehicle WHERE customer_id = :id AND NOT deleted"),
            {"id": customer_id},
        ).all()
        values = customer_values(
            row.name,
            row.contact_name,
            list(phones),
            [v.plate for v in vehicles],
            [v.vin for v in vehicles],
        )
        keys = customer_keys(values)
        if keys:
            conn.execute(
                text("INSERT INTO search_key (is_start, suffix, doc) VALUES (:s, :k, :doc)"),
                [{"s": s, "k": k, "doc": doc} for s, k in keys],
            )


def rebuild_search_index(conn: Connection) -> int:
    """Rebuild the whole index from the customer tables; returns the number of key rows.

    Used after bulk loads. Keys are inserted in primary-key order, which keeps the B-tree build
    fast; the secondary index on ``doc`` is dropped for the delete and the load and built once
    at the end (in the caller's transaction, so a rollback brings it back as it was).
    """
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'search_key'"
        " AND sql IS NOT NULL ORDER BY name"
    ).all()
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    count = _rebuild_keys(conn)
    for _, sql in indexes:
        conn.exec_driver_sql(sql)
    return count


def _rebuild_keys(conn: Connection) -> int:
    """Fill search_doc and search_key from scratch; returns the number of key rows.

    Python folds each searchable value once (``search_text``, ``phone_search_key``); SQLite
    makes the suffixes, removes duplicates, sorts them and loads the index. Done row by row in
    Python that is tens of seconds at 100,000 customers, most of it sorting and inserting
    millions of keys one at a time.
    """
    conn.execute(text("DELETE FROM search_key"))
    conn.execute(text("DELETE FROM search_doc"))
    conn.execute(
        text(
            "INSERT INTO search_doc (customer_id) SELECT id FROM customer"
            " WHERE NOT deleted AND merged_into_id IS NULL AND erased_at IS NULL ORDER BY id"
        )
    )
    docs = {cid: doc for cid, doc in conn.execute(text("SELECT customer_id, doc FROM search_doc"))}
    folded: set[tuple[int, str]] = set()

    def add(doc: int | None, value: str) -> None:
        if doc is not None and len(value) >= MIN_QUERY_LENGTH:
            folded.add((doc, value[:MAX_SUFFIX_LENGTH]))

    for cid, name, contact in conn.execute(
        text("SELECT id, name, contact_name FROM customer WHERE NOT deleted")
    ):
        doc = docs.get(cid)
        for value in customer_values(name, contact, (), (), ())["name"]:
            add(doc, value)
    for cid, number in conn.execute(
        text("SELECT customer_id, number FROM customer_phone WHERE NOT deleted")
    ):
        if number:
            add(docs.get(cid), phone_search_key(number))
    for cid, plate, vin in conn.execute(
        text("SELECT customer_id, plate, vin FROM customer_vehicle WHERE NOT deleted")
    ):
        for value in (plate, vin):
            if value:
                add(docs.get(cid), search_text(value))
    if not folded:
        return 0
    conn.exec_driver_sql("CREATE TEMP TABLE search_value (doc INTEGER, value TEXT)")
    threads = conn.exec_driver_sql("PRAGMA threads").scalar()
    conn.exec_driver_sql(f"PRAGMA threads = {SORT_THREADS}")
    try:
        conn.exec_driver_sql("INSERT INTO search_value (doc, value) VALUES (?, ?)", list(folded))
        folded.clear()
        # Every suffix of two characters or more; the whole value is the one that "starts".
        # A suffix two values of one customer share is one key: the primary key drops the
        # repeats (cheaper than DISTINCT), and sorted input keeps the B-tree build fast.
        return conn.exec_driver_sql(
            "INSERT OR IGNORE INTO search_key (is_start, suffix, doc)"
            " WITH RECURSIVE suffix (doc, value, start) AS ("
            "  SELECT doc, value, 1 FROM search_value"
            "  UNION ALL SELECT doc, value, start + 1 FROM suffix"
            f"  WHERE start + {MIN_QUERY_LENGTH} <= length(value))"
            " SELECT start = 1, substr(value, start), doc FROM suffix"
            " ORDER BY 1, 2, 3"
        ).rowcount
    finally:
        conn.exec_driver_sql(f"PRAGMA threads = {int(threads)}")
        conn.exec_driver_sql("DROP TABLE temp.search_value")


EXACT, PREFIX, SUBSTRING = "exact", "prefix", "substring"

_RANKED_SCANS = (
    (EXACT, "SELECT doc FROM search_key WHERE is_start = 1 AND suffix = :q"),
    (PREFIX, "SELECT doc FROM search_key WHERE is_start = 1 AND suffix > :q AND suffix < :hi"),
    (SUBSTRING, "SELECT doc FROM search_key WHERE is_start = 0 AND suffix >= :q AND suffix < :hi"),
)


def fold_query(query: str) -> str:
    """The query as keys are stored: folded, and cut to the longest suffix kept."""
    return search_text(query)[:MAX_SUFFIX_LENGTH]


def ranked_customer_ids(conn: Connection, folded_query: str, limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` (customer id, rank) pairs: exact matches, then prefix, then substring.

    Each scan stops as soon as enough distinct customers are found, so a fragment that matches
    half the database costs no more than one that matches a handful.
    """
    found: dict[int, str] = {}
    params = {"q": folded_query, "hi": folded_query + HIGH}
    for rank, sql in _RANKED_SCANS:
        if len(found) >= limit:
            break
        result = conn.execute(text(sql), params)
        for (doc,) in result:
            if doc not in found:
                found[doc] = rank
                if len(found) >= limit:
                    break
        result.close()
    if not found:
        return []
    docs = ",".join(str(int(doc)) for doc in found)  # integers from our own index
    sql = f"SELECT doc, customer_id FROM search_doc WHERE doc IN ({docs})"
    ids = {doc: cid for doc, cid in conn.execute(text(sql))}
    return [(ids[doc], rank) for doc, rank in found.items() if doc in ids]
