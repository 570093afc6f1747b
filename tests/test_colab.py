"""Every Colab copy and every download runs top to bottom in a runtime that lacks the book's package.

A fresh virtualenv stands in for a Colab runtime: torch, torchvision, numpy, scikit-learn,
matplotlib and ipykernel, and neither ``day08`` nor ``myst_nb``. Two of them:

- ``pinned``: the versions requirements.txt pins (what the site is built with);
- ``floors``: the oldest versions code/pyproject.toml declares (``>=`` taken as ``==``), so a
  Colab image with older torch, matplotlib or scikit-learn is covered.

Each is made once in ``_build/colab-venv-<hash of its pins>`` and reused (the first time takes a
minute or two), and ``day08`` is uninstalled before each notebook runs: its set-up cell must
install the package itself, from a copy of ``code/`` named by ``DAY08_SOURCE``, exactly as in
Colab it installs it from GitHub.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import colab
import nbformat
import pytest
from conftest import ROOT
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

pytestmark = pytest.mark.colab

COLAB_HAS = ["torch", "torchvision", "scikit-learn", "matplotlib", "numpy"]
EXECUTABLE = [c for c in colab.chapters(ROOT) if colab.is_executable(c.notebook)]


def pinned() -> list[str]:
    pins = dict(re.findall(r"^([\w-]+)==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE))
    return sorted(f"{name}=={pins[name]}" for name in [*COLAB_HAS, "ipykernel"])


def floors() -> list[str]:
    """The package's declared minimum versions, as pins."""
    project = tomllib.loads((ROOT / "code" / "pyproject.toml").read_text())["project"]
    found = {}
    for text in project["dependencies"]:
        requirement = Requirement(text)
        lowest = [s.version for s in requirement.specifier if s.operator == ">="]
        assert lowest, f"code/pyproject.toml: {text} declares no floor (>=)"
        found[requirement.name] = lowest[0]
    assert sorted(found) == sorted(COLAB_HAS), found
    ipykernel = next(p for p in pinned() if p.startswith("ipykernel=="))
    return sorted([f"{name}=={version}" for name, version in found.items()] + [ipykernel])


def test_the_floors_are_older_than_the_pins():
    pins = dict(p.split("==") for p in pinned())
    for pin in floors():
        name, version = pin.split("==")
        assert Version(version) <= Version(pins[name]), f"{name}: floor {version} above the pin {pins[name]}"


def venv_path(wanted: list[str]) -> Path:
    return ROOT / "_build" / f"colab-venv-{hashlib.sha256(chr(10).join(wanted).encode()).hexdigest()[:12]}"


class Runtime:
    def __init__(self, name: str, wanted: list[str]):
        self.name, self.wanted = name, wanted
        self.venv = venv_path(wanted)
        self.python = self.venv / "bin" / "python"

    def pip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.python), "-m", "pip", *args], capture_output=True, text=True, check=check)

    def make(self) -> KernelSpecManager:
        current = {venv_path(pinned()), venv_path(floors())}
        for old in (ROOT / "_build").glob("colab-venv*"):  # a few GB each: keep only today's pins'
            if old not in current:
                shutil.rmtree(old, ignore_errors=True)
        ready = self.venv / ".ready"
        if not (ready.is_file() and ready.read_text() == "\n".join(self.wanted)):
            shutil.rmtree(self.venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)  # no system site-packages
            result = self.pip("install", "--quiet", *self.wanted, check=False)
            assert result.returncode == 0, f"cannot install the {self.name} runtime {self.wanted}:\n{result.stderr}"
            ready.write_text("\n".join(self.wanted))
        kernels = self.venv / "share" / "jupyter" / "kernels"
        spec = kernels / "colab-standin" / "kernel.json"
        spec.parent.mkdir(parents=True, exist_ok=True)
        argv = [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec.write_text(json.dumps({"argv": argv, "display_name": "Colab stand-in", "language": "python"}))
        return KernelSpecManager(kernel_dirs=[str(kernels)])


@pytest.fixture(scope="session", params=["pinned", "floors"])
def runtime(request):
    runtime = Runtime(request.param, pinned() if request.param == "pinned" else floors())
    runtime.kernels = runtime.make()
    return runtime


def runtime_env(source) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND")}
    env[colab.SOURCE_ENV] = str(source)
    return env


def run_top_to_bottom(runtime: Runtime, notebook, tmp_path: Path) -> None:
    runtime.pip("uninstall", "--yes", "day08", check=False)  # an earlier notebook installed it
    missing = subprocess.run([str(runtime.python), "-c", "import day08"], capture_output=True, text=True)
    assert "No module named 'day08'" in missing.stderr, missing.stderr
    assert subprocess.run([str(runtime.python), "-c", "import myst_nb"], capture_output=True).returncode != 0

    source = shutil.copytree(ROOT / "code", tmp_path / "code", ignore=shutil.ignore_patterns("*.egg-info", "build"))
    workdir = tmp_path / "content"  # like Colab's /content: nothing of the book next to the notebook
    workdir.mkdir()
    timeout = int((colab.load_config(ROOT).get("execute") or {}).get("timeout", 600))
    km = KernelManager(kernel_name="colab-standin", kernel_spec_manager=runtime.kernels)
    client = NotebookClient(notebook, km=km, timeout=timeout, allow_errors=False)
    client.execute(env=runtime_env(source), cwd=str(workdir))  # raises CellExecutionError naming the cell

    assert runtime.pip("show", "day08", check=False).returncode == 0, "the set-up cell did not install the package"
    setup_output = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    assert "error" not in setup_output.lower(), setup_output
    freeze = runtime.pip("freeze").stdout
    installed = {canonicalize_name(n): Version(v).public for n, v in re.findall(r"^([\w.-]+)==(\S+)$", freeze, re.M)}
    for pin in runtime.wanted:  # installing day08 must not have replaced what the runtime had
        name, version = pin.split("==")
        assert Version(installed.get(canonicalize_name(name), "0")) == Version(version), (pin, freeze)


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=[c.docname for c in EXECUTABLE])
def test_the_copy_runs_top_to_bottom_in_a_fresh_runtime(runtime, chapter, tmp_path):
    copy = nbformat.read(ROOT / colab.notebook_path(chapter.docname), as_version=4)
    run_top_to_bottom(runtime, copy, tmp_path)


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=[c.docname for c in EXECUTABLE])
def test_the_download_runs_top_to_bottom_in_a_fresh_runtime(built_site, runtime, chapter, tmp_path):
    download = nbformat.read(built_site / "_sources" / f"{chapter.docname}.ipynb", as_version=4)
    assert download.cells[0].source == colab.setup_cell(colab.load_config(ROOT)).source, "no set-up cell first"
    run_top_to_bottom(runtime, download, tmp_path)
