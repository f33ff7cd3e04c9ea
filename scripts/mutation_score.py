"""Print the mutation score of the last ``mutmut run`` (``./dev mutate``) and check every survivor is accounted for.

Reads ``mutmut results --all true``. Prints killed/total, the other outcomes, and each surviving mutant, marking
the ones that ``tests/pricing/EQUIVALENT_MUTANTS.md`` explains (a line naming the mutant, with the reason it changes
no amount, quantity or unit price; names under "Not judged here" do not count). Exits 1 if a survivor is not
explained there: it needs a test or a reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPLAINED = ROOT / "tests" / "pricing" / "EQUIVALENT_MUTANTS.md"
MUTMUT = Path(sys.executable).parent / "mutmut"


def outcomes() -> dict[str, str]:
    listing = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            found[name] = status
    return found


def main() -> int:
    results = outcomes()
    if not results:
        print("no mutation results: run ./dev mutate first")
        return 1
    counts = Counter(results.values())
    total = len(results)
    killed = counts["killed"]
    print(f"mutation score: {killed}/{total} killed ({100 * killed / total:.1f}%)")
    print("  " + ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
    explained_text = EXPLAINED.read_text(encoding="utf-8") if EXPLAINED.exists() else ""
    explained_text = explained_text.split("## Not judged here")[0]  # named there, but still owed a test or reason
    explained = set(re.findall(r"`([\w.ǁ]+__mutmut_\d+)`", explained_text))
    survivors = sorted(name for name, status in results.items() if status in ("survived", "no tests"))
    unexplained = [name for name in survivors if name not in explained]
    print(
        f"survivors and untested: {len(survivors)}, explained in {EXPLAINED.relative_to(ROOT)}: "
        f"{len(survivors) - len(unexplained)}"
    )
    for name in unexplained:
        print(f"  UNEXPLAINED {results[name]}: {name}   (mutmut show {name})")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
