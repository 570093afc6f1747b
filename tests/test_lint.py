"""The pre-commit checks (.pre-commit-config.yaml) pass on every file, so CI enforces them.

They run in a throwaway git repository holding a copy of the repository's files (tracked, plus
new files not ignored), because several hooks fix files in place: the working tree is never
touched. On failure the message is the hooks' own output, with the diff of what they would fix;
`make lint` applies those fixes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_the_pre_commit_checks_pass_on_every_file(tmp_path):
    repo = tmp_path / "repo"
    files = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    venv = Path(sys.executable).parent.parent  # the hooks call .venv/bin/<tool>
    (repo / ".venv").symlink_to(venv, target_is_directory=True)
    git("init", "-q", cwd=repo)
    (repo / ".git" / "info" / "exclude").write_text(".venv\n")
    git("add", "-A", cwd=repo)

    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), SKIP="")
    result = subprocess.run(
        [str(venv / "bin" / "pre-commit"), "run", "--all-files", "--show-diff-on-failure", "--color", "never"],
        cwd=repo, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"`make lint` fixes or reports these:\n{result.stdout}\n{result.stderr}"
