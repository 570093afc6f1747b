"""Run ruff on the code cells of MyST chapters, reporting chapter file and line.

    python tools/lint_chapters.py book/*.md     # what the pre-commit hook and the tests run

Each chapter becomes a Python file of the same length in which every line outside a
``{code-cell}`` is blank, so ruff's line numbers are the chapter's. The rules are the project's
(pyproject.toml) minus six that do not fit notebooks: E402 (an exercise cell may import the
check it calls), B018 (a cell's last expression is its displayed output), I001 (a chapter
may group its imports for the reader; ruff could not rewrite the .md anyway) and B905
(``zip(..., strict=True)`` is noise in a teaching example over lists of known length), B007
(``for epoch in range(num_epochs)`` reads better to a student than ``for _ in ...``) and E702
(the debrief labels each micrograd node on its line, ``n = a + b; n.label = "n"``, as the
micrograd lecture does).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

OPEN = re.compile(r"^(`{3,}|~{3,})\{code-cell\}")
RUFF = [
    sys.executable,
    "-m",
    "ruff",
    "check",
    "--output-format",
    "concise",
    "--ignore",
    "E402,B018,I001,B905,B007,E702",
    "--quiet",
]


def code_only(text: str) -> str:
    """The chapter with every line that is not code in a code cell blanked out."""
    out, fence, header = [], None, False
    for line in text.splitlines():
        if fence is None:
            match = OPEN.match(line)
            fence, header = (match.group(1), True) if match else (None, False)
            out.append("")
            continue
        if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            fence = None
            out.append("")
            continue
        if header and line.strip() == "---":  # a YAML options block: skip to its end
            header = "yaml" if header is True else False
            out.append("")
            continue
        if header == "yaml" or (header is True and line.startswith(":")):
            out.append("")
            continue
        header = False
        magic = line.lstrip().startswith(("%", "!"))  # IPython syntax is not Python
        out.append("" if magic else line)
    return "\n".join(out) + "\n"


def lint(path: Path) -> str:
    shadow = f"{path.as_posix()}.py"
    result = subprocess.run([*RUFF, "--stdin-filename", shadow, "-"], input=code_only(path.read_text()), text=True,
                            capture_output=True, check=False)  # fmt: skip
    return (result.stdout + result.stderr).replace(shadow, path.as_posix()).strip()


def main(argv: list[str]) -> int:
    reports = [report for report in map(lint, map(Path, argv)) if report]
    if reports:
        print("\n".join(reports))
    return 1 if reports else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
