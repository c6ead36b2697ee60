"""Instant search by fragments of names, phones, plates and VINs, ranked by how well they match."""

from __future__ import annotations

import pytest

from showroom.errors import ValidationError
from showroom.services import customers
from showroom.services.customers import CustomerDraft, VehicleDraft
from showroom.validation import vin_check_digit


def vin(body17: str) -> str:
    return body17[:8] + vin_check_digit(body17) + body17[9:]


VIN1 = vin("LFV2A21K03A123456")
VIN2 = vin("LSVAU2180N2183294")


@pytest.fixture
def book(db, sales):
    """A handful of customers whose values overlap in the ways users trip over."""
    people = {
        "wangfang": CustomerDraft(name="王芳", phones=["13812348000"],
                                  vehicles=[VehicleDraft(vin=VIN1, plate="粤B12345")]),
        "wangfangfang": CustomerDraft(name="王芳芳", phones=["13900001234"]),
        "lewangfang": CustomerDraft(name="乐王芳", phones=["13700005678"],
                                    vehicles=[VehicleDraft(vin=VIN2, plate="粤BD80001")]),
        "zhang": CustomerDraft(name="张伟", phones=["+44 20 7946 0958"]),
        "company": CustomerDraft(name="深圳市华通科技有限公司", kind="company",
                                 contact_name="刘洋", phones=["0755-88886666"]),
        "latin": CustomerDraft(name="Anna Schmidt", phones=["13600008000"]),
    }  # fmt: skip
    ids = {}
    with db.session_scope() as session:
        for key, draft in people.items():
            ids[key] = customers.create_customer(session, sales, draft, force=True).id
    return ids


def search(db, actor, text, limit=20):
    with db.session_scope(write=False) as session:
        return customers.search_customers(session, actor, text, limit)


def test_two_character_name_ranks_exact_then_prefix_then_substring(db, sales, book):
    hits = search(db, sales, "王芳")
    assert [h.id for h in hits] == [book["wangfang"], book["wangfangfang"], book["lewangfang"]]
    assert [h.match for h in hits] == ["exact", "prefix", "substring"]
    assert all(h.matched_on == "name" for h in hits)


def test_last_four_digits_of_a_phone(db, sales, book):
    hits = search(db, sales, "8000")
    # The plate 粤BD80001 holds "8000" too: it is found, and says it matched on the plate.
    assert {h.id: h.matched_on for h in hits} == {
        book["wangfang"]: "phone",
        book["latin"]: "phone",
        book["lewangfang"]: "plate",
    }
    assert all(h.match == "substring" for h in hits)


def test_full_phone_in_any_spelling_is_an_exact_match(db, sales, book):
    for text in ("13812348000", "138 1234 8000", "138-1234-8000"):
        (hit,) = search(db, sales, text)
        assert (hit.id, hit.match, hit.phone) == (book["wangfang"], "exact", "138****8000")


def test_international_and_landline_numbers(db, sales, book):
    assert [h.id for h in search(db, sales, "79460958")] == [book["zhang"]]
    assert [h.id for h in search(db, sales, "88886666")] == [book["company"]]


@pytest.mark.parametrize(
    ("text", "key", "match"),
    [
        ("粤B12345", "wangfang", "exact"),
        ("粤b·12345", "wangfang", "exact"),
        ("B123", "wangfang", "substring"),
        ("粤BD8", "lewangfang", "prefix"),
        ("80001", "lewangfang", "substring"),
    ],
)
def test_plate_fragments(db, sales, book, text, key, match):
    (hit,) = search(db, sales, text)
    assert (hit.id, hit.match, hit.matched_on) == (book[key], match, "plate")


def test_vin_fragments(db, sales, book):
    (tail,) = search(db, sales, VIN2[-8:])
    assert (tail.id, tail.matched_on, tail.vin) == (book["lewangfang"], "vin", VIN2)
    (middle,) = search(db, sales, VIN1[5:11].lower())
    assert (middle.id, middle.matched_on) == (book["wangfang"], "vin")
    (whole,) = search(db, sales, VIN1)
    assert (whole.match, whole.matched_on) == ("exact", "vin")


def test_company_contact_and_latin_names_case_insensitive(db, sales, book):
    assert [h.id for h in search(db, sales, "华通科技")] == [book["company"]]
    assert [h.id for h in search(db, sales, "刘洋")] == [book["company"]]
    assert [h.id for h in search(db, sales, "schmi")] == [book["latin"]]


def test_no_match_and_limit(db, sales, book):
    assert search(db, sales, "zzqq") == []
    assert len(search(db, sales, "13", limit=2)) == 2


@pytest.mark.parametrize("text", ["", " ", "王", "8"])
def test_one_character_is_refused_naming_the_query(db, sales, book, text):
    with pytest.raises(ValidationError) as raised:
        search(db, sales, text)
    assert raised.value.field == "query"


def test_index_follows_edits(db, sales, book):
    with db.session_scope() as session:
        customers.update_customer(
            session, sales, book["zhang"], {"name": "张大伟", "phones": ["13511112222"]}
        )
    assert [h.id for h in search(db, sales, "张大伟")] == [book["zhang"]]
    assert search(db, sales, "79460958") == []
    assert [h.id for h in search(db, sales, "1111222")] == [book["zhang"]]
    with db.session_scope() as session:
        customers.add_vehicle(session, sales, book["zhang"], VehicleDraft(plate="京A8C9D7"))
    assert [h.id for h in search(db, sales, "A8C9")] == [book["zhang"]]


def test_rolled_back_edit_leaves_index_unchanged(db, sales, book):
    with pytest.raises(RuntimeError), db.session_scope() as session:
        customers.update_customer(session, sales, book["zhang"], {"name": "赵六"})
        raise RuntimeError("cancelled")
    assert search(db, sales, "赵六") == []
    assert [h.id for h in search(db, sales, "张伟")] == [book["zhang"]]


def test_rebuilt_index_answers_the_same(db, sales, book):
    from showroom.search import rebuild_search_index

    queries = ["王芳", "8000", "B123", VIN2[-6:], "华通", "schmi"]
    before = {q: [(h.id, h.match) for h in search(db, sales, q)] for q in queries}
    with db.engine.begin() as conn:
        rows = rebuild_search_index(conn)
    assert rows > 0
    assert {q: [(h.id, h.match) for h in search(db, sales, q)] for q in queries} == before


def test_a_rebuild_holds_exactly_the_keys_the_edits_wrote(db, sales, book):
    """The bulk rebuild (suffixes made by SQLite) equals the per-customer index kept by edits,
    key for key, long, short and non-Latin values included."""
    from sqlalchemy import text

    from showroom.search import rebuild_search_index

    with db.session_scope() as session:
        for i, name in enumerate(["😀表情符号客户", "X" * 60, "欧阳娜娜", "Zhang Wei-Ming"]):
            draft = CustomerDraft(name=name, phones=[f"1350000{i:04d}"])
            customers.create_customer(session, sales, draft, force=True)
    key_sql = text(
        "SELECT k.is_start, k.suffix, d.customer_id FROM search_key k"
        " JOIN search_doc d ON d.doc = k.doc"
    )
    with db.engine.connect() as conn:
        kept = set(conn.execute(key_sql).all())
    with db.engine.begin() as conn:
        threads = conn.exec_driver_sql("PRAGMA threads").scalar()
        assert rebuild_search_index(conn) == len(kept)
        # The sorter's helper threads were the rebuild's only: the connection goes back as it was.
        assert conn.exec_driver_sql("PRAGMA threads").scalar() == threads
    with db.engine.connect() as conn:
        assert set(conn.execute(key_sql).all()) == kept
    assert any(len(suffix) == 40 for _, suffix, _ in kept)


def test_a_rebuild_of_an_empty_book_leaves_an_empty_index(db):
    from showroom.search import rebuild_search_index

    with db.engine.begin() as conn:
        assert rebuild_search_index(conn) == 0
