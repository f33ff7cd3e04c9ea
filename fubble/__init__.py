"""fubble: a usage-based billing engine.

Meter what customers use, price it with exact decimal arithmetic, and issue correct invoices. The HTTP service is
built by :func:`fubble.api.app.create_app`; the pure pricing rules live in :mod:`fubble.pricing`.
"""

__version__ = "0.2.0"

__all__ = ["__version__"]
