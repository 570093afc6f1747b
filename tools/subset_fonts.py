"""Cut fonts down to the characters a site draws with them (fontTools).

    python tools/subset_fonts.py JOBS.json

tools/lean_site.py runs this file as a separate process for KaTeX's and the icons' fonts, so
that their subsetting (about half a second) runs on another core while the Sphinx process
finishes the pages. Importing only fontTools keeps the process quick to start.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def subset(fonts: list[Path], chars: set[str], out: Path, flavor: str) -> list[Path]:
    """Each font with only the glyphs for ``chars``, written to ``out`` as ``flavor``
    ("woff", or "woff2" when brotli is installed), under the font's name with that suffix."""
    from fontTools import subset as ft

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # it logs every table it prunes
    written = []
    for font in fonts:
        options = ft.Options()
        options.flavor = flavor
        loaded = ft.load_font(str(font), options)
        subsetter = ft.Subsetter(options)
        subsetter.populate(unicodes={ord(c) for c in chars})
        subsetter.subset(loaded)
        target = out / font.with_suffix(f".{flavor}").name
        ft.save_font(loaded, str(target), options)
        written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", type=Path, help='a JSON list of {"fonts": [...], "chars": "...", "out": DIR, "flavor"}')
    args = parser.parse_args(argv)
    for job in json.loads(args.jobs.read_text(encoding="utf8")):
        Path(job["out"]).mkdir(parents=True, exist_ok=True)
        subset([Path(f) for f in job["fonts"]], set(job["chars"]), Path(job["out"]), job.get("flavor", "woff"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
