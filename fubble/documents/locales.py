"""The locales invoice documents can be written in: every locale the installed Babel has data for (``de_DE``,
``fr_FR``, ``en_US``, ``pt_BR``, ...), named as Babel names them. A customer's ``locale`` is one of these."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from babel.localedata import locale_identifiers

DEFAULT_LOCALE = "en_US"


@lru_cache
def known_locales() -> tuple[str, ...]:
    """Every locale identifier Babel knows here, sorted: what the API declares it accepts, and all it accepts."""
    return tuple(sorted(name for name in locale_identifiers() if name != "root"))


def check_locale(name: str) -> str:
    """``name`` if Babel knows it, else ``ValueError`` with a sentence for the 422."""
    if name not in _known_set():
        raise ValueError(f"{name!r} is not a locale this server knows; use a Babel locale such as en_US, de_DE, fr_FR")
    return name


@lru_cache
def _known_set() -> frozenset[str]:
    return frozenset(known_locales())


@lru_cache(maxsize=256)
def babel_locale(name: str) -> Locale:
    """The Babel locale of a customer's ``locale`` (``en_US`` for one Babel no longer knows)."""
    return Locale.parse(name if name in _known_set() else DEFAULT_LOCALE)
