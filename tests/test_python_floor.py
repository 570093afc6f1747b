"""One Python floor: the Makefile, the docs, the package, the lint settings and CI agree on it,
and `make` with an older Python stops at once with one line naming the interpreter it found."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib

import pytest
import yaml
from conftest import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()
FLOOR = re.search(r"^PYTHON_FLOOR := (\d+)\.(\d+)$", MAKEFILE, re.MULTILINE)
MAJOR, MINOR = int(FLOOR.group(1)), int(FLOOR.group(2))
TOO_OLD = f"{MAJOR}.{MINOR - 1}.12"


def test_the_floor_is_3_11_the_oldest_python_the_pins_install_on():
    assert (MAJOR, MINOR) == (3, 11)


@pytest.mark.parametrize("doc", ["README.md", "CONTRIBUTING.md"])
def test_the_docs_state_the_floor(doc):
    text = (ROOT / doc).read_text()
    assert f"Python {MAJOR}.{MINOR} or newer" in text, f"{doc} must say `Python {MAJOR}.{MINOR} or newer`"
    others = set(re.findall(r"Python (3\.\d+)(?:\+| or newer| or later)", text)) - {f"{MAJOR}.{MINOR}"}
    assert not others, f"{doc} states another floor: {others}"


def test_the_package_and_the_lint_settings_use_the_floor():
    package = tomllib.loads((ROOT / "code" / "pyproject.toml").read_text())
    assert package["project"]["requires-python"] == f">={MAJOR}.{MINOR}"
    tools = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert tools["tool"]["ruff"]["target-version"] == f"py{MAJOR}{MINOR}"


def test_ci_runs_the_floor():
    action = yaml.safe_load((ROOT / ".github" / "actions" / "setup" / "action.yml").read_text())
    python = next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["python-version"] == f"{MAJOR}.{MINOR}"


def test_binder_uses_the_floor_when_it_names_a_python():
    runtime = ROOT / "binder" / "runtime.txt"
    if not runtime.exists():
        pytest.skip("binder/runtime.txt does not exist: Binder's default Python is not pinned here")
    assert runtime.read_text().strip() == f"python-{MAJOR}.{MINOR}"


def fake_python(folder, version: str):
    """A `python3` that answers `--version` like an older interpreter and fails anything else."""
    folder.mkdir()
    script = folder / "python3"
    script.write_text(
        f'#!/bin/sh\n[ "$1" = --version ] && {{ echo "Python {version}"; exit 0; }}\n'
        'echo "fake python: nothing but --version" >&2; exit 3\n'
    )
    script.chmod(0o755)
    return script


def fresh_clone_files(dest):
    """The files `make` reads before installing, as a fresh clone has them (no .venv)."""
    for name in ("Makefile", "requirements.txt", "code/pyproject.toml", "package-lock.json"):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    return dest


def run_make(cwd, *args, path_first=None):
    # A make of its own, as typed in a terminal, also when the tests run under `make test`
    # (whose variables would make it print "Entering directory" lines).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    if path_first:
        env["PATH"] = f"{path_first}{os.pathsep}{env['PATH']}"
    return subprocess.run(["make", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_make_with_an_older_python_stops_with_one_line_naming_it(tmp_path):
    fake = fake_python(tmp_path / "bin", TOO_OLD)
    clone = fresh_clone_files(tmp_path / "clone")
    result = run_make(clone, path_first=fake.parent)  # plain `make`, as a newcomer types it
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert str(fake) in lines[0] and f"Python {TOO_OLD}" in lines[0], lines[0]
    assert f"needs Python {MAJOR}.{MINOR} or newer" in lines[0] and f"PYTHON=python{MAJOR}.{MINOR}" in lines[0]
    assert not (clone / ".venv").exists(), "nothing is installed with a Python below the floor"


def test_make_names_a_python_that_does_not_run(tmp_path):
    clone = fresh_clone_files(tmp_path / "clone")
    result = run_make(clone, "install", "PYTHON=no-such-python3")
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and "no-such-python3 is not a working Python" in lines[0], lines


def test_make_goes_past_the_check_with_a_python_at_the_floor(tmp_path):
    """The same fake, reporting the floor itself, passes the check: `make -n` then plans the venv."""
    fake = fake_python(tmp_path / "bin", f"{MAJOR}.{MINOR}.0")
    clone = fresh_clone_files(tmp_path / "clone")
    result = run_make(clone, "-n", "install", path_first=fake.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "python3 -m venv .venv" in result.stdout, result.stdout
