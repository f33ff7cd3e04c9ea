"""``python3 -m fubble.database.setup``: create or migrate the database named by ``FUBBLE_DATABASE_URL``."""

from __future__ import annotations

from fubble.config import get_settings
from fubble.db.migrate import upgrade


def main() -> None:
    url = get_settings().database_url
    upgrade(url)
    print(f"database ready: {url}")


if __name__ == "__main__":
    main()
