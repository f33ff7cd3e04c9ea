"""Commercial terms: prepaid credit (``/customers/{id}/credit-grants``, balance, ledger), coupons, tax rates and
credit notes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from fubble.client._call import Call, given, page, segment
from fubble.coupons.schemas import CouponOut, RedemptionOut
from fubble.credit_notes.schemas import CreditNoteOut
from fubble.credits.schemas import BalanceOut, GrantOut, LedgerEntryOut
from fubble.taxes.schemas import TaxRateOut

GRANT = TypeAdapter(GrantOut)
GRANTS = TypeAdapter(list[GrantOut])
BALANCE = TypeAdapter(BalanceOut)
LEDGER = TypeAdapter(list[LedgerEntryOut])
COUPON = TypeAdapter(CouponOut)
COUPONS = TypeAdapter(list[CouponOut])
REDEMPTION = TypeAdapter(RedemptionOut)
REDEMPTIONS = TypeAdapter(list[RedemptionOut])
TAX_RATE = TypeAdapter(TaxRateOut)
TAX_RATES = TypeAdapter(list[TaxRateOut])
NOTE = TypeAdapter(CreditNoteOut)
NOTES = TypeAdapter(list[CreditNoteOut])


def _customer(customer_id: int) -> str:
    return f"/customers/{segment(customer_id)}"


# Credits


def grant(customer_id: int, amount: Decimal | int | str, description: str, **fields: Any) -> Call[GrantOut]:
    """Grant prepaid credit in the customer's currency. Other fields: ``priority`` (1 used first ... 50),
    ``expires_at``."""
    body = {"amount": amount, "description": description, **fields}
    return Call("POST", f"{_customer(customer_id)}/credit-grants", GRANT, body=body)


def grants(customer_id: int, *, limit: int = 100, offset: int = 0) -> Call[list[GrantOut]]:
    """Every grant of the customer, by id."""
    return Call("GET", f"{_customer(customer_id)}/credit-grants", GRANTS, page(limit, offset))


def void_grant(customer_id: int, grant_id: int) -> Call[GrantOut]:
    """Void what remains of a grant."""
    return Call("POST", f"{_customer(customer_id)}/credit-grants/{segment(grant_id)}/void", GRANT)


def balance(customer_id: int) -> Call[BalanceOut]:
    """What the customer's usable grants have left."""
    return Call("GET", f"{_customer(customer_id)}/credit-balance", BALANCE)


def ledger(customer_id: int, *, limit: int = 100, offset: int = 0) -> Call[list[LedgerEntryOut]]:
    """Every grant, use, expiry and void, in time order."""
    return Call("GET", f"{_customer(customer_id)}/credit-ledger", LEDGER, page(limit, offset))


# Coupons


def create_coupon(code: str, type: str, duration: str, **fields: Any) -> Call[CouponOut]:
    """A coupon: ``type`` ``percentage`` (``percent_off``) or ``fixed`` (``amount_off``, ``currency``);
    ``duration`` ``once``, ``repeating`` (``duration_in_periods``) or ``forever``. Other fields: ``plan_ids``,
    ``max_redemptions``, ``expires_at``."""
    body = {"code": code, "type": type, "duration": duration, **fields}
    return Call("POST", "/coupons/", COUPON, body=body)


def get_coupon(coupon_id: int) -> Call[CouponOut]:
    """Get a coupon."""
    return Call("GET", f"/coupons/{segment(coupon_id)}", COUPON)


def list_coupons(*, limit: int = 100, offset: int = 0) -> Call[list[CouponOut]]:
    """Coupons, by id."""
    return Call("GET", "/coupons/", COUPONS, page(limit, offset))


def apply_coupon(customer_id: int, code: str) -> Call[RedemptionOut]:
    """Apply the coupon with ``code`` to the customer."""
    return Call("POST", f"{_customer(customer_id)}/coupons", REDEMPTION, body={"code": code})


def applied_coupons(customer_id: int, *, limit: int = 100, offset: int = 0) -> Call[list[RedemptionOut]]:
    """The coupons applied to the customer."""
    return Call("GET", f"{_customer(customer_id)}/coupons", REDEMPTIONS, page(limit, offset))


# Tax rates


def create_tax_rate(
    name: str, rate: Decimal | int | str, *, applies_by_default: bool = False, **fields: Any
) -> Call[TaxRateOut]:
    """A tax rate (``rate`` a percent: 20 means 20%); ``applies_by_default`` taxes every customer without rates of
    its own."""
    body = {"name": name, "rate": rate, "applies_by_default": applies_by_default, **fields}
    return Call("POST", "/tax-rates/", TAX_RATE, body=body)


def get_tax_rate(tax_rate_id: int) -> Call[TaxRateOut]:
    """Get a tax rate."""
    return Call("GET", f"/tax-rates/{segment(tax_rate_id)}", TAX_RATE)


def list_tax_rates(*, limit: int = 100, offset: int = 0) -> Call[list[TaxRateOut]]:
    """Tax rates, by id."""
    return Call("GET", "/tax-rates/", TAX_RATES, page(limit, offset))


# Credit notes


def create_credit_note(
    invoice_id: int,
    *,
    reason: str,
    method: str,
    amount: Decimal | int | str | None = None,
    items: Sequence[Mapping[str, Any]] | None = None,
) -> Call[CreditNoteOut]:
    """A credit note for a pending or paid invoice: an ``amount``, or ``items`` ``[{"invoice_item_id",
    "amount"}]``; ``method`` ``credit`` (to the customer's balance) or ``refund``."""
    body = {"reason": reason, "method": method, **given(amount=amount)}
    if items is not None:
        body["items"] = [dict(item) for item in items]
    return Call("POST", f"/invoices/{segment(invoice_id)}/credit-notes", NOTE, body=body)


def invoice_credit_notes(invoice_id: int, *, limit: int = 100, offset: int = 0) -> Call[list[CreditNoteOut]]:
    """The invoice's credit notes."""
    return Call("GET", f"/invoices/{segment(invoice_id)}/credit-notes", NOTES, page(limit, offset))


def get_credit_note(credit_note_id: int) -> Call[CreditNoteOut]:
    """Get a credit note."""
    return Call("GET", f"/credit-notes/{segment(credit_note_id)}", NOTE)


def customer_credit_notes(customer_id: int, *, limit: int = 100, offset: int = 0) -> Call[list[CreditNoteOut]]:
    """The customer's credit notes."""
    return Call("GET", f"{_customer(customer_id)}/credit-notes", NOTES, page(limit, offset))
