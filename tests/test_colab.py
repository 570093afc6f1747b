"""Every Colab copy runs top to bottom in a runtime that lacks the book's package.

A fresh virtualenv stands in for a Colab runtime: torch, torchvision, scikit-learn, matplotlib
and ipykernel (the versions requirements.txt pins), and neither ``day08`` nor ``myst_nb``. It
is made once in ``_build/colab-venv`` and reused (the first time takes a minute or two and
a few GB), and ``day08`` is uninstalled from it before each copy runs. The copy's setup cell
must then install the package itself, from a copy of ``code/`` named by ``DAY08_SOURCE``,
exactly as in Colab it installs it from GitHub.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from build import find_chapters, load_config
from conftest import ROOT
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

import notebooks

pytestmark = pytest.mark.colab

COLAB_HAS = ["torch", "torchvision", "scikit-learn", "matplotlib", "numpy", "ipykernel"]
EXECUTABLE = [c for c in find_chapters(ROOT) if notebooks.is_executable(c.text)]
VENV = ROOT / "_build" / "colab-venv"
PYTHON = VENV / "bin" / "python"


def pip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(PYTHON), "-m", "pip", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="session")
def colab_kernels():
    """The stand-in Colab runtime's kernel, as a KernelSpecManager that knows only it."""
    pins = dict(re.findall(r"^([\w-]+)==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE))
    wanted = sorted(f"{name}=={pins[name]}" for name in COLAB_HAS)
    ready = VENV / ".ready"
    if not (ready.is_file() and ready.read_text() == "\n".join(wanted)):
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # no system site-packages
        pip("install", "--quiet", *wanted)
        ready.write_text("\n".join(wanted))
    kernels = VENV / "share" / "jupyter" / "kernels"
    spec = kernels / "colab-standin" / "kernel.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(PYTHON), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.write_text(json.dumps({"argv": argv, "display_name": "Colab stand-in", "language": "python"}))
    return KernelSpecManager(kernel_dirs=[str(kernels)])


def runtime_env(source) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND")}
    env[notebooks.SOURCE_ENV] = str(source)
    return env


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=[c.docname for c in EXECUTABLE])
def test_the_copy_runs_top_to_bottom_in_a_fresh_runtime(colab_kernels, chapter, tmp_path):
    pip("uninstall", "--yes", "day08", check=False)  # an earlier copy installed it
    missing = subprocess.run(
        [str(PYTHON), "-c", "import torch, torchvision, sklearn, matplotlib\nimport day08"],
        capture_output=True,
        text=True,
    )
    assert "No module named 'day08'" in missing.stderr, missing.stderr
    assert subprocess.run([str(PYTHON), "-c", "import myst_nb"], capture_output=True).returncode != 0

    source = shutil.copytree(ROOT / "code", tmp_path / "code", ignore=shutil.ignore_patterns("*.egg-info", "build"))
    workdir = tmp_path / "content"  # like Colab's /content: nothing of the book next to the notebook
    workdir.mkdir()
    copy = nbformat.read(ROOT / notebooks.notebook_path(chapter.docname), as_version=4)
    timeout = int(load_config(ROOT).get("execute", {}).get("timeout", 600))
    km = KernelManager(kernel_name="colab-standin", kernel_spec_manager=colab_kernels)
    client = NotebookClient(copy, km=km, timeout=timeout, allow_errors=False)
    client.execute(env=runtime_env(source), cwd=str(workdir))  # raises CellExecutionError naming the cell

    assert pip("show", "day08", check=False).returncode == 0, "the setup cell did not install the package"
    setup_output = "".join(o.get("text", "") for o in copy.cells[0].outputs)
    assert "error" not in setup_output.lower(), setup_output
