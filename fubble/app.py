"""``python3 -m fubble.app``: the original product's way to start the server (same as ``fubble serve``)."""

from __future__ import annotations

from fubble.cli import serve

if __name__ == "__main__":
    serve(host=None, port=None, workers=1, migrate=True, no_auth=False)
