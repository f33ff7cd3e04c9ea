"""Benchmarks: ``python -m bench NAME ...`` or ``./dev bench NAME ...`` (figures: README).

NAME is ingest, import, invoice_run, billing_run, latency, billing, compare_seed or storage_floor; each takes --help.
"""

from __future__ import annotations

import sys


def main() -> None:
    commands = {
        "ingest": "bench.ingest",
        "import": "bench.event_import",
        "billing": "bench.billing",
        "invoice_run": "bench.invoice_run",
        "billing_run": "bench.billing_run",
        "latency": "bench.latency",
        "compare_seed": "bench.compare_seed",
        "storage_floor": "bench.storage_floor",
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print("usage: python -m bench {" + ",".join(commands) + "} [options]  (--help for each)")
        raise SystemExit(2)
    import importlib

    module = importlib.import_module(commands[sys.argv[1]])
    module.main(sys.argv[2:])


if __name__ == "__main__":
    main()
