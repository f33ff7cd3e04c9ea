"""Invoice arithmetic: line amounts in the currency's minor unit, exact totals, default unit prices."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from fractions import Fraction

from fubble.errors import InvalidInput
from fubble.pricing.money import minor_unit_digits, to_decimal

# Wide enough for any sum of 32-digit amounts; an inexact result raises instead of rounding silently.
_EXACT = Context(prec=100, traps=[Inexact, InvalidOperation, Overflow])
UNIT_PRICE_PLACES = 12


def in_minor_units(amount: Decimal, currency: str, loc: tuple[str | int, ...]) -> Decimal:
    """``amount`` with exactly the currency's decimal places (``10.0`` USD -> ``10.00``, ``10.000`` -> ``10.00``).

    Raises :class:`InvalidInput` at ``loc`` if it needs more places than the currency has (``10.005`` USD, ``1.5``
    JPY): an invoice line is never rounded behind the caller's back.
    """
    places = minor_unit_digits(currency)
    exponent = Decimal(1).scaleb(-places)
    try:
        return amount.quantize(exponent, context=_EXACT)
    except (Inexact, InvalidOperation):
        unit = "no decimal places" if places == 0 else f"at most {places} decimal place{'s' * (places > 1)}"
        raise InvalidInput.at(loc, f"{currency} amounts have {unit}; got {amount}") from None


def exact_total(amounts: Iterable[Decimal], currency: str) -> Decimal:
    """The exact sum of ``amounts``, written with the currency's decimal places (``0.00`` USD when empty)."""
    total = Decimal(0)
    for amount in amounts:
        total = _EXACT.add(total, amount)
    return in_minor_units(total, currency, ("amount",))


def default_unit_price(amount: Decimal, quantity: Decimal | None) -> Decimal:
    """``amount / quantity`` when a quantity > 0 is given, else ``amount``.

    The quotient is computed exactly and rounded once, half-up, to at most 12 decimal places, trailing zeros removed
    (10 / 3 -> 3.333333333333; 10.00 / 1000 -> 0.01).
    """
    if quantity is None or quantity <= 0:
        return amount
    return to_decimal(Fraction(amount) / Fraction(quantity), UNIT_PRICE_PLACES)
