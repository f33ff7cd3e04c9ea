"""An invoice document as an HTML page: one Jinja2 template (``templates/invoice.html``) with autoescaping on, so
whatever a customer's name or a line's description holds is shown as text, never run. Self-contained (inline styles,
no script, no outside asset): it prints and saves as is."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from fubble.documents.content import InvoiceDocument


@lru_cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("fubble.documents", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def render(doc: InvoiceDocument) -> str:
    return _environment().get_template("invoice.html").render(doc=doc)
