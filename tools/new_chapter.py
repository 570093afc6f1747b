"""Start a new chapter from book/_template.md and add it to the reading order (_toc.yml).

    python tools/new_chapter.py my-topic "My topic"   # what `make chapter NAME=... TITLE=...` runs

The chapter gets the kernelspec header, a label (its name), objectives, one imports cell, a
worked cell with a glued number and a captioned figure, a summary and an exercise with a folded
solution: it builds as it is, so `make serve` shows it at once, and you replace its content.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
LAST = "book/status"  # the build-status page stays at the end of the book


def scaffold(root: Path, name: str, title: str) -> Path:
    """Write book/<name>.md from the template and list it in _toc.yml; return the new file."""
    if not NAME.match(name):
        raise ValueError(
            f"NAME={name!r} is not a chapter name: use lowercase words joined by '-', like 'softmax-basics'"
        )
    if not title.strip():
        raise ValueError('TITLE is empty: give the chapter a title, like TITLE="Softmax, step by step"')
    path = root / "book" / f"{name}.md"
    if path.exists():
        raise ValueError(f"{path.relative_to(root)} already exists: choose another NAME or edit that file")
    text = (root / "book" / "_template.md").read_text(encoding="utf8")
    for field, value in {"name": name, "title": title.strip(), "key": name.replace("-", "_")}.items():
        text = text.replace("{{" + field + "}}", value)
    add_to_toc(root / "_toc.yml", f"book/{name}")
    path.write_text(text, encoding="utf8")
    return path


def add_to_toc(toc_path: Path, docname: str) -> None:
    """Append ``docname`` to the chapters (before the status page), turning an article into a book."""
    text = toc_path.read_text(encoding="utf8")
    toc = yaml.safe_load(text) or {}
    entry = {"file": docname}
    if toc.get("format") == "jb-article":  # one page so far: its sections become the book's chapters
        rest = {k: v for k, v in toc.items() if k not in ("format", "root", "sections")}
        toc = {"format": "jb-book", "root": toc["root"], "chapters": toc.get("sections", []), **rest}
    chapters = toc["parts"][-1].setdefault("chapters", []) if toc.get("parts") else toc.setdefault("chapters", [])
    at = len(chapters) - 1 if chapters and chapters[-1].get("file") == LAST else len(chapters)
    chapters.insert(at, entry)
    header = "".join(itertools.takewhile(lambda line: line.startswith("#"), text.splitlines(keepends=True)))
    toc_path.write_text(header + yaml.safe_dump(toc, sort_keys=False), encoding="utf8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="file name without .md, lowercase words joined by '-' (also its label)")
    parser.add_argument("title", help="the chapter's title, shown as its heading and in the table of contents")
    args = parser.parse_args(argv)
    try:
        path = scaffold(ROOT, args.name, args.title)
    except ValueError as err:
        print(f"make chapter: {err}", file=sys.stderr)
        return 1
    print(f"Created {path.relative_to(ROOT)} and added it to _toc.yml. Run `make serve` to see it as you edit.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
