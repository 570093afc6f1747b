"""What a reader downloads, and Lighthouse's scores, for every chapter page (a benchmark, not a test).

    python tools/bench_site.py            # what `make bench-site` runs
    python tools/bench_site.py --no-default   # only this site, not the default build too

Both sites are served by ``tools/site_server.py --gzip`` on 127.0.0.1 (text compressed, as
GitHub Pages does) and each chapter page is measured by Lighthouse (npm ``lighthouse``, its
default mobile profile: emulated phone, simulated slow 4G and 4x CPU slowdown) in Debian's
Chromium (``CHROME_PATH``). Each page is measured 5 times and the run with the median
performance score is kept: Lighthouse's own guidance (docs/variability.md in its repository)
is that the median of 5 runs is about twice as stable as one run, and on this 2-core machine,
where Chromium and Lighthouse share the cores, single runs of one page spread over 0.06.
The table also gives the lowest and highest score of the 5 runs. Bytes and requests are
Lighthouse's own counts of what the page transferred (``total-byte-weight``,
``network-requests``). Elements are the HTML elements of the built page
(``document.querySelectorAll('*').length`` before any script runs), counted from the file.

"default" is the same book built as plain Jupyter Book 1 would: a copy without
``tools/lean_site.py`` and sphinxcontrib-katex (so MathJax from its CDN, fontawesome.js, Thebe),
from the same execution cache. Its CDN requests fail offline; a reader online would download
MathJax on top of the figures shown. Targets per chapter page: <= 400,000 bytes, performance
>= 0.95, accessibility, best practices and SEO 1.00. Results also go to
``_build/reports/bench_site.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a script beside book_copy.py, not in the book
import book_copy  # noqa: E402
from colab import reading_order  # noqa: E402
from site_server import served  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
TARGETS = {
    "bytes": 400_000,
    "elements": 5_000,
    "performance": 0.95,
    "accessibility": 1.0,
    "best-practices": 1.0,
    "seo": 1.0,
}
CEILINGS = {"bytes", "elements"}  # targets that are maxima; the others are minima


class _Elements(HTMLParser):
    """Counts the elements of an HTML page: one per start tag (void and self-closing tags included)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def handle_starttag(self, tag, attrs):
        self.count += 1


def elements(path: Path) -> int:
    counter = _Elements()
    counter.feed(path.read_text(encoding="utf-8"))
    return counter.count


def chapters() -> list[str]:
    return [f"{doc}.html" for doc in reading_order(ROOT)]


def build(root: Path) -> Path:
    result = book_copy.build(root)
    if result.returncode != 0:
        sys.exit(f"the build in {root} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return root / "_build" / "html"


def default_copy(dest: Path) -> Path:
    """The book as a default Jupyter Book 1 build: without this site's lean_site and KaTeX."""
    book_copy.copy_book(dest, ROOT, cache=True)  # the executed chapters too: nothing runs again
    config = yaml.safe_load((dest / "_config.yml").read_text())
    sphinx = config["sphinx"]
    sphinx["extra_extensions"] = [e for e in sphinx["extra_extensions"] if e != "sphinxcontrib.katex"]
    sphinx["local_extensions"].pop("lean_site")
    sphinx["config"].pop("templates_path")  # _templates/ drops fontawesome.js
    for key in ("html_math_renderer", "katex_prerender", "katex_css_path", "html_context"):
        sphinx["config"].pop(key, None)
    config.get("html", {}).pop("favicon", None)
    (dest / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return build(dest)


def lighthouse(url: str, chrome: str) -> dict:
    flags = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
    result = subprocess.run(
        [str(LIGHTHOUSE), url, "--output=json", "--output-path=stdout", "--quiet",
         f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={flags}"],
        capture_output=True, text=True, env={**os.environ, "CHROME_PATH": chrome}, timeout=300,
    )  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"lighthouse failed on {url}:\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    audits = report["audits"]
    row = {c: report["categories"][c]["score"] for c in CATEGORIES}
    for metric in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time"):
        row[metric] = round(audits[metric]["numericValue"])  # ms
    row["cumulative-layout-shift"] = round(audits["cumulative-layout-shift"]["numericValue"], 3)
    row["bytes"] = int(audits["total-byte-weight"]["numericValue"])
    row["requests"] = len(audits["network-requests"]["details"]["items"])
    row["failed"] = [
        a["id"] for a in audits.values() if a["scoreDisplayMode"] == "binary" and (a.get("score") or 0) < 1
    ]
    return row


def measure(name: str, site: Path, pages: list[str], chrome: str, runs: int) -> list[dict]:
    """Per page, the Lighthouse run with the median performance score of ``runs`` runs."""
    rows = []
    with served(site, compress=True) as url:
        for page in pages:
            results = sorted((lighthouse(url + page, chrome) for _ in range(runs)), key=lambda r: r["performance"])
            spread = {"lowest": results[0]["performance"], "highest": results[-1]["performance"]}
            rows.append({"site": name, "page": page, **results[len(results) // 2], **spread,
                         "elements": elements(site / page)})  # fmt: skip
            print(f"  {name} {page}: performance {[r['performance'] for r in results]}", file=sys.stderr)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| site | page | bytes | requests | elements | performance | (lowest–highest) | accessibility | best practices | SEO |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        scores = " | ".join(f"{r[c]:.2f}" for c in CATEGORIES)
        scores = scores.replace(" | ", f" | {r['lowest']:.2f}–{r['highest']:.2f} | ", 1)
        lines.append(f"| {r['site']} | {r['page']} | {r['bytes']:,} | {r['requests']} | {r['elements']:,} | {scores} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-default", action="store_true", help="skip the default Jupyter Book build")
    parser.add_argument("--runs", type=int, default=5, help="Lighthouse runs per page (the median is kept)")
    parser.add_argument("pages", nargs="*", help="pages to measure, e.g. book/index.html (default: every chapter)")
    args = parser.parse_args()
    chrome = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    pages = args.pages or chapters()
    rows = measure("this site", build(ROOT), pages, chrome, args.runs)
    if not args.no_default:
        with tempfile.TemporaryDirectory() as tmp:
            rows += measure("default Jupyter Book 1", default_copy(Path(tmp) / "book"), pages, chrome, args.runs)
    print(table(rows))
    for r in rows:
        if r["site"] == "this site":
            missed = [k for k, v in TARGETS.items() if (r[k] > v if k in CEILINGS else r[k] < v)]
            if missed:
                print(f"{r['page']} misses the targets for {', '.join(missed)}; failing audits: {r['failed']}")
    reports = ROOT / "_build" / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "bench_site.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
