"""The build's own code: small, on public APIs, and each extension doing what its docstring says.

Unit tests of tools/local_deps.py, tools/cell_errors.py and tools/lean_site.py (most without a
build), a scan of tools/ for reaches into other libraries' internals, and the size of the build path.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import weakref
from pathlib import Path

import cell_errors
import execute
import local_deps
import nbformat
import pytest
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from lean_site import icon_codepoints

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"
OURS = {p.stem for p in TOOLS.glob("*.py")}
STDLIB = set(sys.stdlib_module_names)


# ----------------------------------------------------------------------------- no reaching in


def reaches_in(source: str) -> list[str]:
    """Imports of underscore names from third-party packages, assignments to their modules' or
    classes' attributes (monkeypatching), and os._exit / atexit._run_exitfuncs."""
    found, foreign = [], set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            root = node.module.split(".")[0]
            if root not in OURS and root not in STDLIB:
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private or any(part.startswith("_") for part in node.module.split(".")):
                    found.append(f"line {node.lineno}: from {node.module} import {', '.join(private) or '...'}")
                foreign |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root not in OURS and root not in STDLIB:
                    if any(part.startswith("_") for part in alias.name.split(".")):
                        found.append(f"line {node.lineno}: import {alias.name}")
                    foreign.add(alias.asname or root)
    for node in ast.walk(ast.parse(source)):
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        )
        for target in targets:
            base = target
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(target, ast.Attribute) and isinstance(base, ast.Name) and base.id in foreign:
                found.append(f"line {node.lineno}: assigns {ast.unparse(target)}")
        is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        if is_call and node.func.id == "setattr" and node.args and isinstance(node.args[0], ast.Name):
            if node.args[0].id in foreign:
                found.append(f"line {node.lineno}: setattr({node.args[0].id}, ...)")
        if isinstance(node, ast.Attribute) and node.attr in ("_exit", "_run_exitfuncs"):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", sorted(TOOLS.glob("*.py")), ids=lambda p: p.name)
def test_tools_do_not_reach_into_other_libraries(path):
    assert reaches_in(path.read_text()) == [], f"{path.name} depends on another library's internals"


def test_the_scan_finds_each_kind_of_reach():
    source = textwrap.dedent("""
        import os, atexit
        from sphinx.builders.html._assets import _JavaScript
        from jupyter_cache.cache.main import JupyterCacheBase
        from sphinxcontrib import katex
        katex.render_latex = print
        JupyterCacheBase.create_hashed_notebook = print
        setattr(katex, "x", 1)
        atexit._run_exitfuncs()
        os._exit(0)
    """)
    assert len(reaches_in(source)) == 6, reaches_in(source)


def test_katex_start_up_is_as_lean_site_assumes():
    """lean_site.start_katex ends the node process that a refused connection leaves behind, by
    the name sphinxcontrib-katex 0.9.11 gives it; an upgrade that renames it must say so."""
    from sphinxcontrib.katex import KaTeXServer

    source = inspect.getsource(KaTeXServer.start_server_process)
    assert "process = Popen(" in source and "sock.connect(" in source, (
        "sphinxcontrib-katex's start_server_process changed: check tools/lean_site.py start_katex (or drop it if "
        "the server now waits until node listens)"
    )


# ----------------------------------------------------------------------------- the size of the build


def build_path() -> list[Path]:
    """The files the build runs: the pre-step, the local extensions in _config.yml and what they
    import from tools/, and the template overrides."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    names = {"execute", *config["sphinx"]["local_extensions"]}
    for name in list(names):
        tree = ast.parse((TOOLS / f"{name}.py").read_text())
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module in OURS}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names if a.name in OURS}
    return sorted(TOOLS / f"{n}.py" for n in names) + sorted((ROOT / "_templates").rglob("*.html"))


def test_the_build_path_stays_small():
    lines = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in build_path()}
    assert sum(lines.values()) <= 800, lines
    assert "tools/colab.py" not in lines, "the Colab generator is not part of the build"


# ----------------------------------------------------------------------------- local_deps


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A tiny importable package ``mypkg`` in a temporary folder."""
    (tmp_path / "src" / "mypkg").mkdir(parents=True)
    (tmp_path / "src" / "mypkg" / "__init__.py").write_text("ANSWER = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    return tmp_path / "src" / "mypkg"


def cached(cache, uri: str, code: str):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return cache.cache_notebook_bundle(CacheBundleIn(nb, uri), check_validity=False, overwrite=True)


def test_local_deps_evicts_exactly_the_importers_of_a_changed_package(tmp_path, package):
    cache = get_cache(str(tmp_path / "cache"))
    cached(cache, "/book/uses.md", "import mypkg\nprint(mypkg.ANSWER)")
    cached(cache, "/book/from.md", "from mypkg import ANSWER")
    cached(cache, "/book/plain.md", "print('mypkgx is not mypkg')\nimport mypkgx")
    local_deps.stamp(cache, ["mypkg"])
    assert local_deps.evict_stale(cache, ["mypkg"]) == []
    (package / "__init__.py").write_text("ANSWER = 43\n")
    assert sorted(local_deps.evict_stale(cache, ["mypkg"])) == ["/book/from.md", "/book/uses.md"]
    assert [r.uri for r in cache.list_cache_records()] == ["/book/plain.md"]


def test_local_deps_treats_an_unstamped_importer_as_stale_and_watches_files(tmp_path, package):
    cache = get_cache(str(tmp_path / "cache"))
    cached(cache, "/book/uses.md", "import mypkg")
    cached(cache, "/book/plain.md", "print(1)")
    assert local_deps.evict_stale(cache, ["mypkg"]) == ["/book/uses.md"]  # made before the extension knew
    (tmp_path / "requirements.txt").write_text("torch==1\n")
    local_deps.stamp(cache, ["mypkg"], ["requirements.txt"], tmp_path)
    assert local_deps.evict_stale(cache, ["mypkg"], ["requirements.txt"], tmp_path) == []
    (tmp_path / "requirements.txt").write_text("torch==2\n")
    assert local_deps.evict_stale(cache, ["mypkg"], ["requirements.txt"], tmp_path) == ["/book/plain.md"]


def test_local_deps_counts_an_edit_made_while_the_notebooks_ran_as_a_change(tmp_path, package):
    cache = get_cache(str(tmp_path / "cache"))
    before = local_deps.digests(["mypkg"], [], tmp_path)  # taken when the build begins
    cached(cache, "/book/uses.md", "import mypkg")  # executed against ANSWER = 42 ...
    (package / "__init__.py").write_text("ANSWER = 43\n")  # ... and the package edited before the build ends
    local_deps.stamp(cache, ["mypkg"], current=before)
    assert local_deps.evict_stale(cache, ["mypkg"]) == ["/book/uses.md"]


def test_local_deps_names_a_package_it_cannot_find():
    with pytest.raises(ValueError, match="'no_such_package_here', which cannot be imported"):
        local_deps.package_digest("no_such_package_here")


def test_the_package_digest_ignores_caches_but_not_sources(package):
    before = local_deps.package_digest("mypkg")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert local_deps.package_digest("mypkg") == before
    (package / "new.py").write_text("")
    assert local_deps.package_digest("mypkg") != before


# ----------------------------------------------------------------------------- execute


def test_a_ctrl_c_python_drops_in_a_weakref_callback_still_interrupts_the_build(monkeypatch, capsys):
    """Seen on this machine: SIGINT raised inside a weakref callback during Sphinx's write; Python
    printed "Exception ignored in", dropped it, and the build exited 0."""

    class Page:
        pass

    def ctrl_c(_):
        raise KeyboardInterrupt

    def build(args, prog_name):
        page = Page()
        watcher = weakref.ref(page, ctrl_c)  # noqa: F841 (alive until the page is collected)
        del page  # the callback raises KeyboardInterrupt; Python reports it as unraisable and goes on
        sys.exit(0)  # the build finishes, as Jupyter Book's command does

    class EntryPoint:
        load = staticmethod(lambda: build)

    monkeypatch.setattr(execute, "entry_points", lambda **_: [EntryPoint])
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # restored after the test
    with pytest.raises(SystemExit) as done:
        execute.jupyter_book(["build", "."])
    assert done.value.code == 130
    err = capsys.readouterr().err
    assert "interrupted while Sphinx read or wrote the pages" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- cell_errors


def test_cell_errors_finds_the_cell_quoted_in_nbclients_error(tmp_path):
    chapter = tmp_path / "chapter.md"
    header = (ROOT / "book" / "agenda.md").read_text().split("\n---\n")[0] + "\n---\n"
    cells = "# Title\n\n```{code-cell} ipython3\nx = 1\n```\n\nText.\n\n```{code-cell} ipython3\n# a comment\ny = x / 0\n```\n"
    chapter.write_text(header + cells)
    traceback = (
        "nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:\n"
        "------------------\n# a comment\ny = x / 0\n------------------\n\n\x1b[31mZeroDivisionError\x1b[0m: division by zero\n"
    )
    line = header.count("\n") + cells.split("\n").index("```{code-cell} ipython3", 3) + 2  # its first line
    assert cell_errors.locate(chapter, cell_errors.ANSI.sub("", traceback)) == f"code cell 2, line {line}: `y = x / 0`"
    report = tmp_path / "_build/html/reports/chapter.err.log"
    lines = cell_errors.describe(tmp_path, chapter, {"traceback": traceback, "error": "CellExecutionError"}, report)
    assert lines[1:] == [
        "    ZeroDivisionError: division by zero",
        "    full traceback: _build/html/reports/chapter.err.log",
    ]


# ----------------------------------------------------------------------------- lean_site


def test_icon_codepoints_are_the_icons_used_plus_the_themes_own():
    css = '.fa-rocket:before{content:"\\f135"}.fa-github::before{content:"\\f09b"}:root{--pst-icon-note:"\\f05a"}'
    pages = ['<i class="fa-solid fa-rocket"></i>']
    assert icon_codepoints(css, pages) == {0xF135, 0xF05A}


def test_icon_codepoints_fail_loudly_when_the_themes_css_changes_shape():
    with pytest.raises(Exception, match="update tools/lean_site.py"):
        icon_codepoints(".fa-rocket { content: var(--x) }", ["fa-rocket"])


# ----------------------------------------------------------------------------- what the overrides rely on


def test_no_page_loads_fontawesome_js_and_the_icons_are_cut_down(built_site):
    """_templates/layout.html drops the theme's fontawesome.js line by its file name: a theme that
    renames the script would bring 1.5 MB back unnoticed without this test."""
    for page in built_site.rglob("*.html"):
        if page.relative_to(built_site).parts[0] != "_static":  # the theme's Jinja macros, not pages
            assert "fontawesome.js" not in page.read_text(), f"{page.relative_to(built_site)} loads fontawesome.js"
    fonts = list((built_site / "_static/vendor/fontawesome/webfonts").glob("*.woff2"))
    assert fonts and all(f.stat().st_size < 10_000 for f in fonts), {f.name: f.stat().st_size for f in fonts}


def test_myst_nb_writes_the_executed_notebooks_where_the_download_hook_reads_them(built_site):
    """tools/notebooks.py rewrites the file at ``env.mystnb_config.output_folder`` (myst-nb 1.4's
    jupyter_execute/), which the theme copies to _sources/ for the download button."""
    written = built_site.parent / "jupyter_execute" / "book" / "training-loop.ipynb"
    assert written.is_file(), "myst-nb no longer writes _build/jupyter_execute/: update tools/notebooks.py"
    download = nbformat.read(built_site / "_sources" / "book" / "training-loop.ipynb", as_version=4)
    assert download.cells[0].source.startswith("# @title Set up"), "the download has no set-up cell"
    assert any(c.get("outputs") for c in download.cells if c.cell_type == "code"), "the download has no outputs"


def test_no_page_loads_thebe(built_site):
    """lean_site drops Thebe's script and its inline configuration script by what they contain
    (Sphinx 7.4's assets carry ``filename`` and ``attributes``); if that stops matching, they return."""
    for page in (built_site / "book").glob("*.html"):
        text = page.read_text()
        assert "sphinx-thebe.js" not in text and "THEBE_JS_URL" not in text, f"{page.name} loads Thebe"
