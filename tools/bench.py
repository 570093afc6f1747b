"""Benchmark the build (a script that prints figures; not a test).

    python tools/bench.py            # what `make bench` runs; about 3-5 minutes
    python tools/bench.py --runs 1   # quicker, less steady

Each figure is the median of ``--runs`` runs, measured on a temporary copy of the book so
the working tree's _build/ is left alone:

- cold build: no cache, no _build (every chapter executes, in parallel)
- no-change rebuild: the same build again
- prose edit: one sentence added to a chapter's text (no cell may run)
- package edit: a comment added to the shared package (every chapter importing it runs)
- plain Python: each chapter's code cells run as one script, one chapter after another
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))  # this script sits beside build.py; it is not in the book

import build  # noqa: E402


def timed_build(root: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "tools/build.py"], cwd=root, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"build failed in {root}:\n{result.stdout}\n{result.stderr}")
    report = root / "_build" / "reports" / "execution.json"
    statuses = {e["chapter"]: e for e in json.loads(report.read_text())} if report.is_file() else {}
    return seconds, statuses


def executed(statuses: dict) -> int:
    return sum(1 for e in statuses.values() if e["status"] == "executed")


def plain_python(root: Path) -> dict[str, float]:
    """Each chapter's code cells as one script, run with plain Python (no Jupyter, no Sphinx)."""
    times = {}
    # the same settings as the build's kernels (one torch thread), so only the build's overhead differs
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(root / "code" / "src"), OMP_NUM_THREADS="1")
    for chapter in build.find_chapters(root):
        nb = build.read_notebook(chapter)
        code = "\n\n".join(
            "\n".join(line for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            for c in nb.cells
            if c.cell_type == "code" and "raises-exception" not in c.metadata.get("tags", [])
        )
        if not code.strip():
            continue
        script = root / "_bench_script.py"
        script.write_text(code)
        start = time.perf_counter()
        subprocess.run([sys.executable, str(script)], cwd=chapter.path.parent, env=env, check=True, capture_output=True)
        times[chapter.rel] = time.perf_counter() - start
        script.unlink()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the book's build.")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {k: [] for k in ("cold", "nochange", "prose", "package", "plain")}
    ran: dict[str, list[int]] = {k: [] for k in ("prose", "package")}
    per_chapter: dict[str, list[float]] = {}
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            root = Path(tmp)
            build.copy_book(root)  # sources only: a cold build
            seconds, statuses = timed_build(root)
            rows["cold"].append(seconds)
            for name, entry in statuses.items():
                per_chapter.setdefault(name, []).append(entry["seconds"])
            rows["nochange"].append(timed_build(root)[0])

            chapter = next(c for c in build.find_chapters(root) if "{code-cell}" in c.text)
            chapter.path.write_text(chapter.text + f"\nOne more sentence, run {run}.\n")
            seconds, statuses = timed_build(root)
            rows["prose"].append(seconds)
            ran["prose"].append(executed(statuses))

            module = root / "code" / "src" / "day08" / "__init__.py"
            module.write_text(module.read_text() + f"\n# edited by the benchmark, run {run}\n")
            seconds, statuses = timed_build(root)
            rows["package"].append(seconds)
            ran["package"].append(executed(statuses))

            plain = plain_python(root)
            rows["plain"].append(sum(plain.values()))
            for name, seconds in plain.items():
                per_chapter.setdefault(f"{name} (plain Python)", []).append(seconds)
        print(f"run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)

    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"Build benchmark: median of {args.runs} run(s), {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print("| step | seconds | chapters executed |")
    print("| --- | ---: | ---: |")
    print(f"| cold build (execute all + Sphinx) | {med['cold']:.2f} | all |")
    print(f"| no-change rebuild | {med['nochange']:.2f} | 0 |")
    print(f"| prose edit rebuild | {med['prose']:.2f} | {max(ran['prose'])} |")
    print(f"| package edit rebuild | {med['package']:.2f} | {max(ran['package'])} |")
    print(f"| plain Python, chapters' code in series | {med['plain']:.2f} | all |")
    print(f"\ncold build / plain Python = {med['cold'] / med['plain']:.2f} (target <= 0.7)")
    print("\n| chapter | seconds (median) |")
    print("| --- | ---: |")
    for name, values in sorted(per_chapter.items()):
        print(f"| {name} | {statistics.median(values):.2f} |")


if __name__ == "__main__":
    main()
