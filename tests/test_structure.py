"""The book's structure: _toc.yml and book/ agree, and every chapter is a MyST notebook."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT


def toc_entries(node) -> list[str]:
    """Every 'file' in _toc.yml, depth first."""
    found = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                found.append(node[key])
        for value in node.values():
            if isinstance(value, (list, dict)):
                found += toc_entries(value)
    elif isinstance(node, list):
        for item in node:
            found += toc_entries(item)
    return found


TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
ENTRIES = toc_entries(TOC)
CHAPTERS = sorted(p for p in (ROOT / "book").rglob("*.md") if not p.name.startswith("_"))


def front_matter(path):
    text = path.read_text()
    assert text.startswith("---\n"), f"{path.relative_to(ROOT)} has no front matter"
    return yaml.safe_load(text[4 : text.index("\n---", 4)])


def test_toc_is_a_book_rooted_at_the_landing_page():
    assert TOC["root"] == "book/index"
    assert len(ENTRIES) == len(set(ENTRIES)), "a chapter is listed twice in _toc.yml"


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_toc_entry_has_a_file(entry):
    assert (ROOT / f"{entry}.md").is_file(), f"_toc.yml lists {entry} but {entry}.md does not exist"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_is_listed_in_the_toc(path):
    docname = path.relative_to(ROOT).with_suffix("").as_posix()
    assert docname in ENTRIES, f"{docname}.md is not in _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_has_a_kernelspec_header(path):
    meta = front_matter(path)
    assert meta["kernelspec"]["name"] == "python3"
    assert meta["jupytext"]["text_representation"]["format_name"] == "myst"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapters_import_the_package_by_name_without_path_hacks(path):
    text = path.read_text()
    assert not re.search(r"sys\.path\.(insert|append)", text), "chapters import day08 by name: no sys.path edits"
    assert not re.search(r"^\s*[!%]pip ", text, re.MULTILINE), "no pip cells in the book (Colab copies get their own)"


def test_code_is_a_folder_not_a_package():
    assert not (ROOT / "code" / "__init__.py").exists(), "a package named 'code' would shadow the standard library"
    assert (ROOT / "code" / "src" / "day08" / "__init__.py").is_file()


def test_config_pins_the_branch_and_keeps_the_build_strict_and_never_stale():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["branch"] == "main"
    assert {".*", "**/_*", "code", "tests", "_build"} <= set(config["exclude_patterns"])
    assert config["execute"]["execute_notebooks"] == "cache"
    assert {"local_deps", "cell_errors", "build_lock"} <= set(config["sphinx"]["local_extensions"])
    assert config["sphinx"]["config"]["local_deps_packages"] == ["day08"]
    assert config["sphinx"]["config"]["nitpicky"] is True


def test_requirements_pin_jupyter_book_1():
    reqs = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^jupyter-book==1\.0\.", reqs, re.MULTILINE), "pin Jupyter Book 1.0.x (2.x is another tool)"
    for name in ("myst-nb", "sphinx", "torch", "torchvision", "matplotlib", "scikit-learn"):
        assert re.search(rf"^{name}==", reqs, re.MULTILINE), f"{name} is not pinned in requirements.txt"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make html" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE)
