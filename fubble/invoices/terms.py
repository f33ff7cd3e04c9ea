"""Applying a customer's terms to its invoices: coupons, taxes, the negative-total credit and prepaid credits.

Every invoice's figures come from :func:`fubble.pricing.terms.invoice_totals`, here and nowhere else:
``subtotal`` (its lines) -> ``discount_amount`` (the customer's coupons that cover the invoice's billing period) ->
``tax_amount`` (the customer's tax rates on the discounted subtotal) -> ``total`` (never below zero; the difference is
``credit_carried``) -> ``credits_applied`` (prepaid credit) -> ``amount_due``. ``amount`` is the ``total``.

* A draft shows its discounts and taxes as they stand; it applies no credit (``credits_applied`` 0, like a Stripe
  draft: the balance is applied when the invoice is finalized).
* Finalizing (:func:`settle`) counts the billing period for each coupon that discounted it, uses the credits (the
  grants are locked: two invoices finalized at once never use the same credit), and grants ``credit_carried`` as a
  credit (source ``invoice``) that later invoices use.
* Voiding (:func:`unsettle`) returns the credits a finalized invoice used and voids the credit it granted (409 when
  that credit was already used: void the invoice that used it first).

The batch form (:class:`Terms`) reads what a batch of customers needs in a few queries (billing runs write thousands
of invoices at once); single invoices use the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from fubble.coupons import repository as coupons_repository
from fubble.coupons.periods import period_key
from fubble.coupons.service import applies, count_periods
from fubble.credits import repository as credits_repository
from fubble.credits import service as credits_service
from fubble.db.models import CreditGrant, CreditNote, Customer, Invoice, InvoiceDiscount, InvoiceTax, Subscription
from fubble.errors import Conflict
from fubble.pricing.terms import CouponTerm, GrantTerm, TaxTerm, TermLine, Totals, invoice_totals
from fubble.taxes import repository as taxes_repository

DISCOUNTS = cast(Table, InvoiceDiscount.__table__)
TAXES = cast(Table, InvoiceTax.__table__)


@dataclass
class Figures:
    """An invoice's totals and the terms behind them."""

    totals: Totals
    coupons: list[CouponTerm]
    taxes: list[TaxTerm]
    coupon_ids: dict[int, int] = field(default_factory=dict)  # redemption id -> coupon id

    def discount_rows(self) -> list[dict[str, Any]]:
        """The ``invoice_discounts`` rows of these figures (without ``invoice_id``), in the coupons' order."""
        coupons = {c.key: c for c in self.coupons}
        return [
            {
                "redemption_id": redemption_id,
                "coupon_id": self.coupon_ids[redemption_id],
                "description": coupons[redemption_id].description,
                "amount": amount,
            }
            for redemption_id, amount in self.totals.discounts
        ]

    def tax_rows(self) -> list[dict[str, Any]]:
        """The ``invoice_taxes`` rows of these figures (without ``invoice_id``), in the rates' order."""
        rates = {t.key: t for t in self.taxes}
        return [
            {
                "tax_rate_id": rate_id,
                "name": rates[rate_id].name,
                "rate": rates[rate_id].rate,
                "taxable": taxable,
                "amount": amount,
            }
            for rate_id, taxable, amount in self.totals.taxes
        ]

    def columns(self) -> dict[str, Decimal | None]:
        t = self.totals
        return {
            "amount": t.total,
            "credit_carried": t.credit_granted if t.credit_granted else None,
            "subtotal": t.subtotal,
            "discount_amount": t.discount_amount,
            "tax_amount": t.tax_amount,
            "total": t.total,
            "credits_applied": t.credits_applied,
            "amount_due": t.amount_due,
        }


@dataclass
class Terms:
    """The terms of a batch of customers: coupon redemptions, tax rates, credit grants, subscriptions' plans."""

    redeemed: dict[int, list[coupons_repository.Redeemed]]
    rates: dict[int, list[Any]]
    grants: dict[int, list[CreditGrant]]
    plans: dict[int, int] = field(default_factory=dict)  # subscription id -> plan id
    taken: dict[int, Decimal] = field(default_factory=dict)  # grant id -> credit used by invoices not yet settled

    @classmethod
    def load(
        cls,
        session: Session,
        customer_ids: Sequence[int],
        *,
        lock_grants: bool = False,
        plans: Mapping[int, int] | None = None,
    ) -> Terms:
        """The terms of these customers. ``plans``: subscription id -> plan id of every subscription the invoices'
        lines bill, when the caller holds them (the previews); otherwise they are read."""
        ids = sorted(set(customer_ids))
        if plans is None:
            query = select(Subscription.id, Subscription.plan_id).where(Subscription.customer_id.in_(ids))
            plans = {int(sub_id): int(plan_id) for sub_id, plan_id in session.execute(query)}
        return cls(
            redeemed=coupons_repository.redemptions_for(session, ids),
            rates=taxes_repository.rates_for(session, ids),
            grants=credits_repository.grants_for(session, ids, lock=lock_grants),
            plans=dict(plans),
        )

    def figures(
        self,
        customer_id: int,
        currency: str,
        key: str,
        amounts: Sequence[tuple[Decimal, int | None]],
        *,
        at: datetime,
        with_credits: bool,
    ) -> Figures:
        """The totals of an invoice of ``customer_id`` for the billing period ``key`` with these lines
        (amount, subscription id)."""
        lines = [TermLine(amount, self.plans.get(sub_id) if sub_id is not None else None) for amount, sub_id in amounts]
        applying = [
            found
            for found in self.redeemed.get(customer_id, [])
            if applies(found, key) and found.coupon.currency in (None, currency)
        ]
        coupons = [_coupon_term(found) for found in applying]
        coupon_ids = {found.redemption.id: found.coupon.id for found in applying}
        taxes = [TaxTerm(rate.id, rate.name, rate.rate) for rate in self.rates.get(customer_id, [])]
        grants = []
        if with_credits:
            grants = [
                GrantTerm(g.id, g.remaining - self.taken.get(g.id, Decimal(0)), g.priority, g.expires_at)
                for g in self.grants.get(customer_id, [])
                if g.currency == currency
            ]
        totals = invoice_totals(lines, coupons, taxes, grants, currency, at=at)
        return Figures(totals, coupons, taxes, coupon_ids)

    def note_finalized(self, customer_id: int, key: str, fig: Figures) -> None:
        """An invoice of the batch is finalized with ``fig`` before it is stored: the customer's later invoices in
        the batch see its coupon period counted and its credits used (a run finalizing several periods at once)."""
        used = {redemption_id for redemption_id, _ in fig.totals.discounts}
        self.redeemed[customer_id] = [
            found.with_period(key) if found.redemption.id in used else found
            for found in self.redeemed.get(customer_id, [])
        ]
        for grant_id, amount in fig.totals.credits:
            self.taken[grant_id] = self.taken.get(grant_id, Decimal(0)) + amount


def _coupon_term(found: coupons_repository.Redeemed) -> CouponTerm:
    coupon = found.coupon
    return CouponTerm(
        key=found.redemption.id,
        kind="percentage" if coupon.type == "percentage" else "fixed",
        percent_off=coupon.percent_off,
        amount_off=coupon.amount_off,
        plan_ids=frozenset(coupon.plan_ids) if coupon.plan_ids is not None else None,
        description=f"Coupon {coupon.code}",
    )


def write_terms(session: Session, invoice_ids: Sequence[int], figures: Sequence[Figures]) -> None:
    """Store each invoice's discount and tax rows (replacing any it had). Core statements: the ``discounts`` and
    ``taxes`` of those invoices held by the session are expired, so they are read again when next used."""
    if not invoice_ids:
        return
    session.execute(delete(DISCOUNTS).where(DISCOUNTS.c.invoice_id.in_(list(invoice_ids))))
    session.execute(delete(TAXES).where(TAXES.c.invoice_id.in_(list(invoice_ids))))
    discounts, taxes = [], []
    for invoice_id, fig in zip(invoice_ids, figures, strict=True):
        discounts += [{"invoice_id": invoice_id, **row} for row in fig.discount_rows()]
        taxes += [{"invoice_id": invoice_id, **row} for row in fig.tax_rows()]
    if discounts:
        session.execute(insert(DISCOUNTS), discounts)
    if taxes:
        session.execute(insert(TAXES), taxes)
    for invoice_id in invoice_ids:
        held = session.identity_map.get(session.identity_key(Invoice, invoice_id))
        if held is not None:
            session.expire(held, ["discounts", "taxes"])


def settle(session: Session, invoice: Invoice, fig: Figures, terms: Terms, *, at: datetime) -> None:
    """What finalizing ``invoice`` does to the customer's terms (see the module rules)."""
    key = period_key(invoice)
    used = [redemption_id for redemption_id, _ in fig.totals.discounts]
    if used:
        count_periods(session, invoice, used, key)
    if fig.totals.credits:
        # The same session's grant objects: the batch's next invoice of this customer sees what is left.
        credits_service.use(session, invoice, fig.totals.credits, at)
    if fig.totals.credit_granted:
        customer = session.get(Customer, invoice.customer_id)
        assert customer is not None
        credits_service.grant_from(
            session,
            customer=customer,
            amount=fig.totals.credit_granted,
            at=at,
            source="invoice",
            invoice_id=invoice.id,
            description=f"Credit from invoice {invoice.invoice_number} (its total fell below zero)",
        )


def unsettle(session: Session, invoice: Invoice, *, at: datetime) -> None:
    """Voiding a finalized invoice: refused (409) when a credit note corrects it; the credit it granted is voided
    (409 if already used), its credits return."""
    notes = session.scalars(select(CreditNote.number).where(CreditNote.invoice_id == invoice.id)).all()
    if notes:
        raise Conflict(
            f"invoice {invoice.id} has credit notes ({', '.join(notes)}): a corrected invoice cannot be voided; "
            "issue a credit note for what remains instead"
        )
    granted = session.scalars(
        select(CreditGrant).where(
            CreditGrant.invoice_id == invoice.id, CreditGrant.source == "invoice", CreditGrant.voided_at.is_(None)
        )
    ).all()
    for grant in granted:
        if grant.remaining != grant.amount:
            raise Conflict(
                f"invoice {invoice.id} granted credit {grant.id} (its total fell below zero), and other invoices used "
                f"{grant.amount - grant.remaining} {grant.currency} of it; void those invoices first"
            )
    for grant in granted:
        credits_service.void_grant(session, grant, at=at)
    credits_service.restore(session, invoice, at)


def figures_of(session: Session, invoice: Invoice, *, at: datetime, finalizing: bool = False) -> tuple[Figures, Terms]:
    """One invoice's figures from its lines (``invoice`` need not be stored yet); ``finalizing``: with credits, the
    customer's grants locked."""
    terms = Terms.load(session, [invoice.customer_id], lock_grants=finalizing)
    amounts = [(item.amount, item.subscription_id) for item in invoice.invoice_items]
    key = period_key(invoice)
    fig = terms.figures(invoice.customer_id, invoice.currency, key, amounts, at=at, with_credits=finalizing)
    return fig, terms


def apply(session: Session, invoice: Invoice, *, at: datetime, finalizing: bool) -> Figures:
    """Recompute a stored invoice's figures from its lines and store them; ``finalizing``: also :func:`settle`."""
    fig, terms = figures_of(session, invoice, at=at, finalizing=finalizing)
    for name, value in fig.columns().items():
        setattr(invoice, name, value)
    session.flush()
    write_terms(session, [invoice.id], [fig])
    if finalizing:
        settle(session, invoice, fig, terms, at=at)
    return fig
