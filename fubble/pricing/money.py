"""Currencies and the one rounding rule.

Rules
-----
* A currency is an ISO 4217 alphabetic code from :data:`MINOR_UNITS` (upper case, exactly as listed). Its number of
  minor-unit digits (USD 2, JPY 0, KWD 3, CLF 4, ...) is the number of decimal places every charged amount has.
  Codes whose minor unit ISO gives as "N.A." (precious metals XAU/XAG/XPD/XPT, bond-market units XBA-XBD, XDR, XSU,
  XUA, the testing code XTS and XXX) are not billing currencies and are not listed; neither are withdrawn codes
  (e.g. HRK, ANG, BGN, CUC, SLL, ZWL).
* :func:`round_money` is the only place an amount is rounded: exactly once, at the end of a computation, half-up
  (a remainder of exactly one half moves away from zero: 0.005 USD -> 0.01, -0.005 USD -> -0.01) to the currency's
  minor unit. Inputs are ``Decimal``, ``Fraction`` or ``int`` and are converted to an exact ratio first, so no
  intermediate result is ever rounded and ``float`` is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from fubble.errors import InvalidInput

__all__ = ["MINOR_UNITS", "is_currency", "minor_unit_digits", "round_money", "to_decimal"]

# ISO 4217 list one (published 2026-01-01): every active code that has a minor unit.
_ISO_4217 = """
AED 2  AFN 2  ALL 2  AMD 2  AOA 2  ARS 2  AUD 2  AWG 2  AZN 2  BAM 2  BBD 2  BDT 2  BHD 3  BIF 0  BMD 2  BND 2
BOB 2  BOV 2  BRL 2  BSD 2  BTN 2  BWP 2  BYN 2  BZD 2  CAD 2  CDF 2  CHE 2  CHF 2  CHW 2  CLF 4  CLP 0  CNY 2
COP 2  COU 2  CRC 2  CUP 2  CVE 2  CZK 2  DJF 0  DKK 2  DOP 2  DZD 2  EGP 2  ERN 2  ETB 2  EUR 2  FJD 2  FKP 2
GBP 2  GEL 2  GHS 2  GIP 2  GMD 2  GNF 0  GTQ 2  GYD 2  HKD 2  HNL 2  HTG 2  HUF 2  IDR 2  ILS 2  INR 2  IQD 3
IRR 2  ISK 0  JMD 2  JOD 3  JPY 0  KES 2  KGS 2  KHR 2  KMF 0  KPW 2  KRW 0  KWD 3  KYD 2  KZT 2  LAK 2  LBP 2
LKR 2  LRD 2  LSL 2  LYD 3  MAD 2  MDL 2  MGA 2  MKD 2  MMK 2  MNT 2  MOP 2  MRU 2  MUR 2  MVR 2  MWK 2  MXN 2
MXV 2  MYR 2  MZN 2  NAD 2  NGN 2  NIO 2  NOK 2  NPR 2  NZD 2  OMR 3  PAB 2  PEN 2  PGK 2  PHP 2  PKR 2  PLN 2
PYG 0  QAR 2  RON 2  RSD 2  RUB 2  RWF 0  SAR 2  SBD 2  SCR 2  SDG 2  SEK 2  SGD 2  SHP 2  SLE 2  SOS 2  SRD 2
SSP 2  STN 2  SVC 2  SYP 2  SZL 2  THB 2  TJS 2  TMT 2  TND 3  TOP 2  TRY 2  TTD 2  TWD 2  TZS 2  UAH 2  UGX 0
USD 2  USN 2  UYI 0  UYU 2  UYW 4  UZS 2  VED 2  VES 2  VND 0  VUV 0  WST 2  XAD 2  XAF 0  XCD 2  XCG 2  XOF 0
XPF 0  YER 2  ZAR 2  ZMW 2  ZWG 2
"""


def _parse_table(text: str) -> dict[str, int]:
    words = text.split()
    return {code: int(digits) for code, digits in zip(words[::2], words[1::2], strict=True)}


MINOR_UNITS: Mapping[str, int] = MappingProxyType(_parse_table(_ISO_4217))
"""ISO 4217 alphabetic code -> number of minor-unit digits (read-only)."""


def is_currency(code: object) -> bool:
    """True if ``code`` is a listed ISO 4217 code (case-sensitive: ``"usd"`` is not a currency)."""
    return isinstance(code, str) and code in MINOR_UNITS


def minor_unit_digits(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit; :class:`InvalidInput` (loc ``("currency",)``) if unknown."""
    try:
        return MINOR_UNITS[currency]
    except (KeyError, TypeError):
        raise InvalidInput.at(("currency",), f"unknown currency {currency!r}: expected an ISO 4217 code") from None


def _ratio(value: Decimal | Fraction | int) -> tuple[int, int]:
    """Exact numerator/denominator (denominator > 0) of a finite Decimal, Fraction or int; refuses float and bool."""
    if isinstance(value, bool) or not isinstance(value, Decimal | Fraction | int):
        raise TypeError(f"expected Decimal, Fraction or int, got {type(value).__name__}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot round non-finite {value!r}")
        return value.as_integer_ratio()
    if isinstance(value, Fraction):
        return value.numerator, value.denominator
    return value, 1


def _decimal_from_int(negative: bool, magnitude: int, places: int) -> Decimal:
    """``magnitude * 10**-places`` (negated if ``negative``) with exactly ``places`` decimal places, built exactly."""
    digits = tuple(int(c) for c in str(magnitude))
    return Decimal((1 if negative and magnitude else 0, digits, -places))


def _round_half_up(numerator: int, denominator: int) -> tuple[bool, int]:
    """Sign and magnitude of numerator/denominator rounded to an integer, halves away from zero."""
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return numerator < 0, quotient


def round_money(value: Decimal | Fraction | int, currency: str) -> Decimal:
    """Round ``value`` half-up (halves away from zero) to ``currency``'s minor unit, exactly.

    The result has exactly the currency's number of decimal places (``Decimal('12.50')`` for USD, ``Decimal('13')``
    for JPY) and never a negative zero. Fractions are rounded from their exact value (1/3 USD -> 0.33, 1/200 USD ->
    0.01), never via an intermediate Decimal division.
    """
    places = minor_unit_digits(currency)
    numerator, denominator = _ratio(value)
    negative, magnitude = _round_half_up(numerator * 10**places, denominator)
    return _decimal_from_int(negative, magnitude, places)


def to_decimal(value: Fraction | Decimal | int, max_places: int = 12) -> Decimal:
    """A display value (e.g. an average unit price): rounded half-up to at most ``max_places`` decimal places,
    trailing zeros removed, never in exponent notation (``Fraction(1, 3)`` -> ``0.333333333333``, ``100`` -> ``100``).

    Not for money: charged amounts go through :func:`round_money`.
    """
    if max_places < 0:
        raise ValueError("max_places must be >= 0")
    numerator, denominator = _ratio(value)
    negative, magnitude = _round_half_up(numerator * 10**max_places, denominator)
    places = max_places
    while places > 0 and magnitude % 10 == 0:
        magnitude //= 10
        places -= 1
    return _decimal_from_int(negative, magnitude, places)
