"""One quote changed on two offline laptops, through the real server on SQLite and PostgreSQL.

Each laptop computes the total of what it saved; the server merges field by field, so without
the sync's own pass the later total would stand beside the other laptop's discount or lines and
the printed quote would not add up. Every replica ends with a total that is its parts', and a
discount nobody approved as combined waits for a manager again.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from harness import (
    assert_acknowledged_present,
    assert_converged,
    assert_erased_everywhere,
    sync_until_quiet,
)
from quote_kit import add_catalogue

from showroom.errors import ValidationError
from showroom.services import conflicts, quotes
from showroom.services.quotes import QuoteDraft, QuoteLineDraft

REGISTRATION = QuoteLineDraft("registration", "上牌服务", "800")
MATS = QuoteLineDraft("accessory", "原厂脚垫", "450", 2)
# The vehicle: 219,900 list price + 2,000 colour + 6,000 sunroof (fees such as the 800 for
# registration come on top, the discount off).
VEHICLE = Decimal("227900.00")


def _draft(cat, **changes) -> QuoteDraft:
    values = {
        "trim_id": cat.tiguan,
        "colour": "冰川蓝",
        "option_codes": ["PANO"],
        "extras": [REGISTRATION],
        "discount": "2000",
    }
    values.update(changes)
    return QuoteDraft(**values)


@pytest.fixture
def shared_quote(shared_customer):
    """Laptops a and b holding the same draft quote (discount 2,000). Returns (a, b, cat, id)."""
    a, b, customer = shared_customer
    cat = add_catalogue(a.db)
    quote = a.edit(lambda s, actor: quotes.create_quote(s, actor, customer, _draft(cat)))
    assert quote.total == VEHICLE + Decimal("800") - Decimal("2000")
    a.sync()
    b.sync()
    return a, b, cat, quote.id


def _update(laptop, quote_id: str, draft: QuoteDraft) -> quotes.QuoteDTO:
    return laptop.edit(lambda s, actor: quotes.update_quote(s, actor, quote_id, draft))


def _quote(laptop, quote_id: str) -> quotes.QuoteDTO:
    from showroom.services import dealer

    with laptop.db.session_scope(write=False) as session:
        return quotes.get_quote(session, dealer.system_actor(session), quote_id)


def _total_conflicts(laptop, quote_id: str) -> list[dict]:
    return [
        c for c in laptop.conflicts() if c["row_id"] == quote_id and c["field"] == "total"
    ]  # fmt: skip


def test_discount_on_one_laptop_and_a_line_on_the_other_add_up_everywhere(
    shared_quote, server, ledger
):
    a, b, cat, quote_id = shared_quote
    _update(a, quote_id, _draft(cat, discount="2500"))
    _update(b, quote_id, _draft(cat, extras=[REGISTRATION, MATS]))
    sync_until_quiet(a, b)

    expected = VEHICLE - Decimal("2500") + Decimal("800") + Decimal("900")
    for laptop in (a, b):
        quote = _quote(laptop, quote_id)
        assert quote.discount == Decimal("2500.00")
        assert [line.description for line in quote.lines][-2:] == ["上牌服务", "原厂脚垫"]
        assert quote.total == expected == quote.vehicle_subtotal - quote.discount + quote.fees_total
        assert quote.status == "draft"  # 2,500 is within the limit
        # The two totals' conflict is closed: neither was right, and nothing is left to choose.
        (conflict,) = _total_conflicts(laptop, quote_id)
        assert (conflict["status"], conflict["resolution"]) == ("resolved", "quote_settled")
    assert server.rows(a.token())[("quote", quote_id)]["data"]["total"] == str(expected)
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_an_approved_discount_asks_again_when_another_laptop_changed_the_quote(
    shared_quote, server, ledger
):
    a, b, cat, quote_id = shared_quote
    # A manager's own discount above the 3,000 limit is approved as it is saved...
    assert _update(a, quote_id, _draft(cat, discount="5000")).status == "approved"
    # ...while b, offline, adds the floor mats to the quote as it was: nobody approved the mats
    # with 5,000 off.
    _update(b, quote_id, _draft(cat, extras=[REGISTRATION, MATS]))
    sync_until_quiet(a, b)

    for laptop in (a, b):
        quote = _quote(laptop, quote_id)
        assert quote.total == VEHICLE - Decimal("5000") + Decimal("800") + Decimal("900")
        assert (quote.status, quote.approved_by_id) == ("pending_approval", None)
        with laptop.db.session_scope() as session, pytest.raises(ValidationError) as refused:
            from showroom.services import dealer

            quotes.render_for_print(session, dealer.system_actor(session), quote_id)
        assert refused.value.field == "discount"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_a_discount_written_back_by_a_manager_keeps_the_total_right(shared_quote, server):
    a, b, cat, quote_id = shared_quote
    _update(a, quote_id, _draft(cat, discount="2500"))
    _update(b, quote_id, _draft(cat, discount="1000"))
    sync_until_quiet(a, b)  # b's 1,000 arrived later and stands
    assert _quote(a, quote_id).discount == Decimal("1000.00")
    # Both totals added up to their own discount: nothing to compute, but their conflict is
    # closed all the same; the discount's conflict is the manager's choice.
    (total,) = _total_conflicts(a, quote_id)
    assert total["resolution"] == "quote_settled"
    (discount,) = [
        c for c in a.conflicts() if c["row_id"] == quote_id and c["status"] == "open"
    ]  # fmt: skip
    assert discount["field"] == "discount"

    a.edit(lambda s, actor: conflicts.resolve_conflict(s, actor, discount["id"], "revert"))
    assert _quote(a, quote_id).total == VEHICLE + Decimal("800") - Decimal("2500")
    sync_until_quiet(a, b)
    for laptop in (a, b):
        quote = _quote(laptop, quote_id)
        assert (quote.discount, quote.total) == (Decimal("2500.00"), Decimal("226200.00"))
    assert_converged(server, [a, b])


@pytest.fixture
def waiting_quote(shared_customer):
    """A salesperson's quote at b with a discount of 5,000, above the limit, waiting for
    approval on both laptops; a acts as a manager. Returns (a, b, cat, the quote)."""
    from showroom.services import dealer
    from showroom.vocabulary import Role

    a, b, customer = shared_customer
    cat = add_catalogue(a.db)
    a.edit(lambda s, admin: dealer.create_user(s, admin, "sales1", "李娜", Role.SALESPERSON))
    sync_until_quiet(a, b)
    b.username = "sales1"
    quote = b.edit(
        lambda s, actor: quotes.create_quote(s, actor, customer, _draft(cat, discount="5000"))
    )
    assert quote.status == "pending_approval"
    sync_until_quiet(a, b)
    return a, b, cat, quote


def test_an_approval_reaches_the_other_laptop_and_stands(waiting_quote, server):
    a, b, _cat, quote = waiting_quote
    approved = a.edit(lambda s, manager: quotes.approve_discount(s, manager, quote.id))
    sync_until_quiet(a, b)
    # b worked out what the approval covers from its own rows, and it is what a approved.
    for laptop in (a, b):
        now = _quote(laptop, quote.id)
        assert (now.status, now.approved_by_id) == ("approved", approved.approved_by_id)
    assert_converged(server, [a, b])


def test_an_approval_does_not_cover_lines_changed_meanwhile_on_another_laptop(
    waiting_quote, server, ledger
):
    a, b, cat, quote = waiting_quote

    # The manager approves what a holds while the salesperson, offline, adds the floor mats.
    a.edit(lambda s, manager: quotes.approve_discount(s, manager, quote.id))
    changed = _update(b, quote.id, _draft(cat, discount="5000", extras=[REGISTRATION, MATS]))
    assert changed.status == "pending_approval"
    sync_until_quiet(a, b)

    for laptop in (a, b):
        now = _quote(laptop, quote.id)
        # Both totals added up: only the approval tells that it saw other lines.
        assert now.total == changed.total
        assert (now.status, now.approved_by_id) == ("pending_approval", None)
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


@pytest.mark.parametrize("first", ["printed", "changed"])
def test_a_quote_printed_on_one_laptop_and_changed_on_the_other_keeps_the_customers_copy(
    shared_quote, server, ledger, first
):
    a, b, cat, quote_id = shared_quote
    printed = a.edit(lambda s, actor: quotes.render_for_print(s, actor, quote_id))
    issued = _quote(a, quote_id)
    # b, offline, had not seen the print: it adds the floor mats to the same quote.
    changed = _update(b, quote_id, _draft(cat, extras=[REGISTRATION, MATS]))
    assert changed.total == issued.total + Decimal("900.00")
    sync_until_quiet(*((a, b) if first == "printed" else (b, a)))

    for laptop in (a, b):
        now = _quote(laptop, quote_id)
        # The merge holds the print and b's lines: told apart, and not printed over.
        assert (now.status, now.changed_after_issue) == ("issued", True)
        assert (now.total, now.issued_total) == (changed.total, issued.total)
        with pytest.raises(ValidationError) as refused:
            laptop.edit(lambda s, actor: quotes.render_for_print(s, actor, quote_id))
        assert refused.value.field == "status"

    new = b.edit(lambda s, actor: quotes.split_after_issue(s, actor, quote_id))
    sync_until_quiet(a, b)
    for laptop in (a, b):
        back = _quote(laptop, quote_id)
        assert (back.status, back.changed_after_issue) == ("issued", False)
        assert back.lines == issued.lines and back.total == issued.total
        kept = _quote(laptop, new.id)
        assert (kept.status, kept.total, kept.number) == ("draft", changed.total, new.number)
        assert [x.description for x in kept.lines] == [x.description for x in changed.lines]
    assert printed.number == issued.number
    assert a.edit(lambda s, actor: quotes.render_for_print(s, actor, quote_id)).pdf
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_a_quote_printed_offline_for_a_customer_erased_meanwhile_keeps_no_personal_text(
    shared_quote, server, ledger
):
    from showroom.services import privacy

    a, b, cat, quote_id = shared_quote
    _update(a, quote_id, _draft(cat, notes="陈先生周六带太太来提车"))
    sync_until_quiet(a, b)
    customer = _quote(a, quote_id).customer_id
    # The customer asks a to erase them while b, offline, prints their quote: b's copy of the
    # print holds the notes and the registration line's words.
    a.edit(lambda s, actor: privacy.erase_customer(s, actor, customer))
    b.edit(lambda s, actor: quotes.render_for_print(s, actor, quote_id))
    sync_until_quiet(a, b)

    for laptop in (a, b):
        now = _quote(laptop, quote_id)
        assert (now.status, now.notes, now.changed_after_issue) == ("issued", None, False)
        assert now.issued_total == now.total
    assert_erased_everywhere(server, [a, b])  # the copies of the print included
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])
