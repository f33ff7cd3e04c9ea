"""fubble: a usage-based billing engine.

Meter what customers use, price it with exact decimal arithmetic, and issue correct invoices. The HTTP service is
built by :func:`fubble.api.app.create_app`; the pure pricing rules live in :mod:`fubble.pricing`. From Python:
:class:`fubble.Engine` runs the API's operations in-process, :mod:`fubble.client` calls a server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = ["Engine", "__version__"]

if TYPE_CHECKING:
    from fubble.client.engine import Engine


def __getattr__(name: str) -> Any:
    # Imported on first use: `import fubble` stays light (the CLI, the server and the pricing core need no engine).
    if name == "Engine":
        from fubble.client.engine import Engine

        return Engine
    raise AttributeError(f"module 'fubble' has no attribute {name!r}")
