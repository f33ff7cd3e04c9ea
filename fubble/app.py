"""``python3 -m fubble.app``: the original product's way to start the server (same as ``fubble serve``)."""

from __future__ import annotations

from fubble.cli.serve import serve

if __name__ == "__main__":
    serve(host=None, port=None, workers=None, migrate=True, no_auth=False, access_log=True)
