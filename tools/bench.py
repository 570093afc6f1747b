"""Benchmark the build against the stock `jupyter-book build` (a script that prints figures; not a test).

    python tools/bench.py            # what `make bench` runs; about 5 minutes
    python tools/bench.py --runs 1   # quicker, less steady

Each figure is the median of ``--runs`` runs, each on fresh temporary copies of the book (the
working tree's _build/ is left alone), ours and the stock build side by side in the same run:

- ours: ``make html`` (tools/execute.py runs the stale chapters at once, then
  ``jupyter-book build . -W -n --keep-going``; make skips both when nothing changed)
- stock: ``jupyter-book build . -W -n --keep-going`` alone, which executes chapters one by one
- cold build (no cache, no _build), no-change rebuild, prose edit (a sentence added to a
  chapter), package edit (a comment added to the shared package); for each, the chapters
  executed, read from jupyter-cache's records.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # beside book_copy.py; not part of the book
import book_copy  # noqa: E402

ROOT = book_copy.ROOT
VENV = Path(sys.executable).parent.parent


def run(root: Path, command: list[str]) -> tuple[float, set[str]]:
    """Seconds taken, and the chapters executed (cache records made meanwhile)."""
    start, moment = time.perf_counter(), book_copy.now()
    result = subprocess.run(command, cwd=root, env=book_copy.environment(root), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed in {root}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return seconds, book_copy.executed_since(root, moment)


def importers(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in (root / "book").glob("*.md")
        if re.search(r"^\s*(from|import)\s+day08\b", p.read_text(), re.MULTILINE) and not p.name.startswith("_")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    commands = {
        "ours": ["make", "--no-print-directory", "html", f"VENV={VENV}"],
        "stock": [str(book_copy.BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going", "-q"],
    }
    steps = ("cold", "nochange", "prose", "package")
    seconds = {(who, step): [] for who in commands for step in steps}
    ran: dict[tuple[str, str], set[str]] = {}
    for number in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            for who, command in commands.items():
                root = book_copy.copy_book(Path(tmp) / who)  # sources only: a cold build
                for step in steps:
                    if step == "prose":
                        chapter = root / "book" / "softmax.md"
                        chapter.write_text(chapter.read_text() + f"\nOne more sentence, run {number}.\n")
                    if step == "package":
                        module = root / "code" / "src" / "day08" / "__init__.py"
                        module.write_text(module.read_text() + f"\n# edited by the benchmark, run {number}\n")
                    took, executed = run(root, command)
                    seconds[(who, step)].append(took)
                    print(f"  {who} {step}: {took:.2f} s, {len(executed)} chapter(s) run", file=sys.stderr, flush=True)
                    ran[(who, step)] = executed
        print(f"run {number + 1}/{args.runs} done", file=sys.stderr, flush=True)

    med = {key: statistics.median(values) for key, values in seconds.items()}
    expected = importers(ROOT)
    print(f"Build benchmark: median of {args.runs} run(s), {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print("| step | ours: make html (s) | chapters run | stock jupyter-book build (s) | chapters run |")
    print("| --- | ---: | ---: | ---: | ---: |")
    names = {"cold": "cold build", "nochange": "no-change rebuild", "prose": "prose edit", "package": "package edit"}
    for step in steps:
        print(
            f"| {names[step]} | {med[('ours', step)]:.2f} | {len(ran[('ours', step)])} "
            f"| {med[('stock', step)]:.2f} | {len(ran[('stock', step)])} |"
        )
    ratio = med[("ours", "cold")] / med[("stock", "cold")]
    print(f"\ncold build, ours / stock = {ratio:.2f} (target <= 0.75)")
    exact = ran[("ours", "package")] == expected == ran[("stock", "package")]
    print(f"package edit re-executed exactly the {len(expected)} importing chapters (both builds): {exact}")
    print(f"prose edit executed {len(ran[('ours', 'prose')])} chapters (target 0)")


if __name__ == "__main__":
    main()
