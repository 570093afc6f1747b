"""Binder builds: the Python that repo2docker would use accepts every pin in binder/.

repo2docker (the tool mybinder.org runs) is asked offline, with no Docker, which buildpack and
Python it would use for this repository (``--no-build --debug`` prints the Dockerfile it would
build), and pip resolves binder/requirements.txt for that Python version.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

BINDER = ROOT / "binder"
REPO2DOCKER = Path(sys.executable).parent / "repo2docker"


def repo2docker_python(repo: Path) -> str:
    result = subprocess.run(
        [str(REPO2DOCKER), "--no-build", "--no-run", "--debug", str(repo)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    found = re.findall(r"Building conda environment for python=(\d+\.\d+)", output)
    assert found, f"repo2docker did not say which Python it would use:\n{output[-2000:]}"
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in output, "repo2docker would not use binder/"
    return found[-1]


@pytest.fixture(scope="module")
def binder_python() -> str:
    return repo2docker_python(ROOT)


def test_binder_names_python_3_11_or_newer_and_repo2docker_uses_it(binder_python):
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.(\d+)", runtime) and int(runtime.split(".")[1]) >= 11, runtime
    assert binder_python == runtime.removeprefix("python-"), (binder_python, runtime)


def pins() -> list[str]:
    lines = [line.split("#")[0].strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith(("-", "."))]


def resolves(python: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """pip resolves the pins for that Python (wheels only, as a Linux image would install)."""
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
        "--target", str(tmp_path / "target"), "--python-version", python, "--only-binary=:all:", *pins(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.mark.colab  # resolves every pin against the package index: make test, not make check
def test_every_binder_pin_accepts_that_python(binder_python, tmp_path):
    assert pins(), "binder/requirements.txt pins nothing"
    result = resolves(binder_python, tmp_path)
    assert result.returncode == 0, (
        f"binder/requirements.txt does not resolve for Python {binder_python}:\n{result.stderr}"
    )


@pytest.mark.colab
def test_without_runtime_txt_repo2docker_would_pick_a_python_the_pins_reject(tmp_path):
    """The check can fail: repo2docker's default Python is the one that broke every Binder button."""
    repo = tmp_path / "repo"
    (repo / "binder").mkdir(parents=True)
    (repo / "binder" / "requirements.txt").write_text((BINDER / "requirements.txt").read_text())
    default = repo2docker_python(repo)
    result = resolves(default, tmp_path)
    assert result.returncode != 0, f"the pins now accept repo2docker's default Python {default}"
