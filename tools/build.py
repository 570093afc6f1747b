"""Build the book: run the chapters that need it, then a strict Sphinx (Jupyter Book 1) build.

    python tools/build.py            # what `make html` runs
    python tools/build.py --jobs 1   # execute chapters one at a time

Why not plain ``jupyter-book build``? Three things it cannot do on its own:

1. **A cache that is never stale.** myst-nb's jupyter-cache keys a chapter on its own code
   cells only, so editing the shared package in ``code/`` would leave old outputs on the page.
   Here each chapter's key also holds a hash of the package when the chapter imports it, and a
   chapter is executed again exactly when its key changes. The executed notebook is stored in
   the same jupyter-cache that myst-nb reads (``execute_notebooks: cache``), so Sphinx never
   executes anything itself; Sphinx runs beside the kernels and reads each chapter again once it
   is stored (``tools/sphinx_pending.py``).
2. **Errors that name the chapter and cell.** A failing cell stops the build with one short
   message: the chapter file, the cell's number, line and first line of code, the error, and
   where the full traceback was saved. Any Sphinx warning fails the build too (``-W
   --keep-going -n``).
3. **Parallel, private kernels.** Stale chapters run concurrently (all at once, one torch thread each), and
   each kernel talks to the build over Unix sockets (ZeroMQ IPC) instead of TCP on loopback.

Everything is written under ``_build/``: ``html/`` (the site), ``.jupyter_cache/`` (executed
notebooks and stamps), ``reports/`` (``execution.json`` and one traceback file per failure).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "day08"
IMPORTS_PACKAGE = re.compile(rf"^\s*(from|import)\s+{PACKAGE}\b", re.MULTILINE)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FRAME = re.compile(r'File "?(/[^",:]+)"?(?:, line |:)(\d+)')  # both Python's and IPython's style


class BuildError(Exception):
    """A problem the author can fix; the message says where and how."""


@dataclass
class Chapter:
    docname: str  # "book/softmax-cross-entropy", as in _toc.yml
    path: Path
    text: str
    notebook: object = None  # nbformat.NotebookNode once read
    key: str = ""  # what the cached outputs depend on
    status: str = "no code"  # "no code", "cached", "executed" or "failed"
    seconds: float = 0.0
    error: str = ""
    report: Path | None = None
    cells: int = 0

    @property
    def rel(self) -> str:
        return f"{self.docname}{self.path.suffix}"  # relative to the book's root, wherever it is


@dataclass
class Paths:
    root: Path
    build: Path = field(init=False)
    html: Path = field(init=False)
    cache: Path = field(init=False)
    stamps: Path = field(init=False)
    reports: Path = field(init=False)

    def __post_init__(self):
        self.build = self.root / "_build"
        self.html = self.build / "html"
        self.cache = self.build / ".jupyter_cache"
        self.stamps = self.cache / "stamps"
        self.reports = self.build / "reports"


# --------------------------------------------------------------------------- configuration


def load_config(root: Path) -> dict:
    """Read _config.yml and fill in what depends on where we build (the repository URL)."""
    path = root / "_config.yml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf8")) or {}
    except yaml.YAMLError as err:
        raise BuildError(f"_config.yml is not valid YAML: {err}") from err
    repo = config.setdefault("repository", {})
    repo["url"] = repository_url(root, repo.get("url", ""))
    return config


def repository_url(root: Path, default: str) -> str:
    """The GitHub URL for launch, edit and repository buttons.

    In GitHub Actions it is the repository the workflow runs in (so a fork publishes correct
    links with no edit); locally it comes from ``git remote get-url origin`` when that is a
    GitHub remote; otherwise it is the default in _config.yml.
    """
    if os.environ.get("BOOK_REPOSITORY_URL"):
        return os.environ["BOOK_REPOSITORY_URL"].rstrip("/")
    if os.environ.get("GITHUB_REPOSITORY"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{os.environ['GITHUB_REPOSITORY']}"
    try:
        remote = subprocess.run(
            ["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return default
    match = re.match(r"^(?:https://github\.com/|git@github\.com:)([^/]+/[^/]+?)(?:\.git)?/?$", remote)
    return f"https://github.com/{match.group(1)}" if match else default


# --------------------------------------------------------------------------- chapters


def toc_docnames(root: Path) -> list[str]:
    from sphinx_external_toc.parsing import parse_toc_yaml

    try:
        site_map = parse_toc_yaml(root / "_toc.yml")
    except Exception as err:  # the parser raises several types; all mean "fix _toc.yml"
        raise BuildError(f"_toc.yml cannot be read: {err}") from err
    return list(site_map.keys())


def find_chapters(root: Path) -> list[Chapter]:
    """Every chapter in _toc.yml, checked against the files in book/ both ways."""
    chapters, problems = [], []
    listed = toc_docnames(root)
    for docname in listed:
        matches = [
            root / f"{docname}{suffix}" for suffix in (".md", ".ipynb") if (root / f"{docname}{suffix}").is_file()
        ]
        if not matches:
            problems.append(f"_toc.yml lists '{docname}' but there is no {docname}.md: create it or remove the entry")
            continue
        chapters.append(Chapter(docname, matches[0], matches[0].read_text(encoding="utf8")))
    for path in sorted((root / "book").rglob("*.md")):
        docname = path.relative_to(root).with_suffix("").as_posix()
        if docname not in listed and not path.name.startswith("_"):
            problems.append(f"{docname}.md is not in _toc.yml: add it to the reading order, or delete it")
    if problems:
        raise BuildError("\n".join(problems))
    return chapters


def front_matter(chapter: Chapter) -> dict:
    text = chapter.text
    if not text.startswith("---\n"):
        raise BuildError(
            f"{chapter.rel}: no front matter. Start the file with the kernelspec header of book/_template.md"
        )
    end = text.find("\n---", 4)
    if end < 0:
        raise BuildError(f"{chapter.rel}: the front matter that opens on line 1 is never closed with '---'")
    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError as err:
        raise BuildError(
            f"{chapter.rel}: the front matter is not valid YAML ({err}). Compare it with book/_template.md"
        ) from err
    if not isinstance(meta, dict) or "kernelspec" not in meta or "jupytext" not in meta:
        raise BuildError(
            f"{chapter.rel}: the front matter needs a 'jupytext' and a 'kernelspec' section, or the chapter's "
            "code would silently not run. Copy them from book/_template.md"
        )
    return meta


def read_notebook(chapter: Chapter):
    """The notebook exactly as myst-nb builds it from the .md (so cache keys match)."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    try:
        return read_myst_markdown_notebook(
            chapter.text, config=MdParserConfig(), add_source_map=True, path=str(chapter.path)
        )
    except Exception as err:  # myst-nb raises MystMetadataParsingError and others
        raise BuildError(f"{chapter.rel}: cannot be read as a MyST notebook: {err}") from err


def source_files(folder: Path) -> list[Path]:
    """The files under ``folder`` that are sources: not caches, not install metadata."""
    generated = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache")
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part in generated or part.endswith(".egg-info") for part in p.parts)
    )  # fmt: skip


def package_hash(root: Path) -> str:
    """A hash of every file of the shared package, so editing it re-executes its users."""
    digest = hashlib.sha256()
    src = root / "code" / "src"
    for path in source_files(src):
        digest.update(path.relative_to(src).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def chapter_key(chapter: Chapter, pkg_hash: str, pins: str) -> str:
    """What a chapter's outputs depend on: its code cells (as jupyter-cache hashes them), the
    package when the chapter imports it, the pinned requirements and the Python version."""
    from jupyter_cache.cache.main import JupyterCacheBase

    _, code_hash = JupyterCacheBase.create_hashed_notebook(None, chapter.notebook)
    code = "\n".join(c.source for c in chapter.notebook.cells if c.cell_type == "code")
    uses_package = bool(IMPORTS_PACKAGE.search(code))
    key = f"{code_hash}|{pkg_hash if uses_package else ''}|{pins}|{sys.version}"
    return hashlib.sha256(key.encode()).hexdigest()


# --------------------------------------------------------------------------- execution


def first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()[:80]
    return "(empty cell)"


async def execute(chapter: Chapter, paths: Paths, timeout: int, threads: int, finished) -> None:
    """Run the chapter's notebook in a fresh kernel; ``finished(chapter)`` is called as soon as
    its last cell is done (or one failed), before the kernel is shut down."""
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    env = dict(os.environ)
    # The kernel imports the package next to *this* book (a temporary copy in the tests).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(paths.root / "code" / "src"), env.get("PYTHONPATH")]))
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYDEVD_DISABLE_FILE_VALIDATION="1")
    env.pop("MPLBACKEND", None)
    sockets = tempfile.mkdtemp(prefix="d8k-")  # short: a Unix socket path must fit in 107 bytes
    km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "k"))
    client = NotebookClient(
        chapter.notebook, km=km, timeout=timeout, allow_errors=False, record_timing=False,
        resources={"metadata": {"path": str(chapter.path.parent)}},
    )  # fmt: skip
    current = {"index": None}
    client.on_cell_start = lambda cell, cell_index: current.update(index=cell_index)
    start = time.perf_counter()
    try:
        await client.async_execute(env=env, cwd=str(chapter.path.parent))
        chapter.status = "executed"
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        chapter.status = "failed"
        chapter.error, chapter.report = describe_failure(chapter, current["index"], err, timeout, paths)
    finally:
        chapter.seconds = time.perf_counter() - start
        finished(chapter)
        if client.kc is not None:  # nbclient leaves the client of a kernel manager it does not own running
            client.kc.stop_channels()
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        shutil.rmtree(sockets, ignore_errors=True)


def describe_failure(chapter: Chapter, index, err, timeout: int, paths: Paths) -> tuple[str, Path]:
    from nbclient.exceptions import CellTimeoutError

    nb = chapter.notebook
    where = "before the first cell (the kernel did not start)"
    if index is not None:
        number = sum(1 for c in nb.cells[: index + 1] if c.cell_type == "code")
        line = nb.metadata.get("source_map", [None] * len(nb.cells))[index]
        line = f", line {line + 1}" if isinstance(line, int) else ""
        where = f"code cell {number}{line}: `{first_line(nb.cells[index].source)}`"
    if isinstance(err, CellTimeoutError):
        what = (
            f"ran longer than the {timeout} s limit (execute.timeout in _config.yml); make it faster or raise the limit"
        )
    else:
        text = ANSI.sub("", str(err)).strip().splitlines()
        what = next((t for t in reversed(text) if t.strip()), type(err).__name__)[:300]
        # If the error was raised inside this repository (the shared package), say where.
        frames = [m for m in map(FRAME.search, text) if m and Path(m.group(1)).is_relative_to(paths.root)]
        if frames:
            file, line = Path(frames[-1].group(1)).relative_to(paths.root).as_posix(), frames[-1].group(2)
            what += f"\n    raised in {file}, line {line}"
    paths.reports.mkdir(parents=True, exist_ok=True)
    report = paths.reports / f"{chapter.docname.replace('/', '__')}.err.log"
    report.write_text(f"{chapter.rel}, {where}\n\n{ANSI.sub('', str(err))}\n", encoding="utf8")
    return f"{where}\n    {what}", report


def store(chapter: Chapter, paths: Paths) -> None:
    """Put the executed notebook where myst-nb's cache mode finds it, and stamp the chapter."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(paths.cache))
    cache.cache_notebook_bundle(
        CacheBundleIn(chapter.notebook, str(chapter.path), data={"execution_seconds": chapter.seconds}),
        check_validity=False, overwrite=True,
    )  # fmt: skip
    stamp = paths.stamps / f"{chapter.docname}.stamp"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(chapter.key, encoding="utf8")


def cached(chapter: Chapter, paths: Paths, manifest: dict) -> bool:
    if manifest.get(chapter.docname, {}).get("key") != chapter.key:
        return False
    from jupyter_cache import get_cache

    try:
        get_cache(str(paths.cache)).match_cache_notebook(chapter.notebook)
    except KeyError:
        return False
    return (paths.stamps / f"{chapter.docname}.stamp").is_file()


async def run_all(chapters: list[Chapter], paths: Paths, jobs: int, timeout: int, manifest: dict, schedule) -> None:
    limit = asyncio.Semaphore(jobs)
    # One thread per kernel: the chapters' tensors are small, and torch's thread pool makes them
    # several times slower on a busy machine (1,000 full-batch steps: 0.5 s on 1 thread, 4 s on 2).
    threads = 1

    def finished(chapter):
        print(f"  {chapter.status:>8} {chapter.rel} in {chapter.seconds:.1f} s", flush=True)
        if chapter.status == "executed":
            store(chapter, paths)
            manifest[chapter.docname] = {"key": chapter.key, "seconds": round(chapter.seconds, 2), "at": time.time()}
        schedule.done(chapter.docname, ok=chapter.status == "executed")  # Sphinx may read it now

    async def one(chapter):
        async with limit:
            print(f"  executing {chapter.rel} ...", flush=True)
            await execute(chapter, paths, timeout, threads, finished)

    await asyncio.gather(*(one(c) for c in chapters))


class SphinxThread(threading.Thread):
    """``sphinx_build`` beside the kernels: it reads each chapter as soon as it is stored."""

    def __init__(self, *args, **kwargs):
        super().__init__(name="sphinx", daemon=True)  # daemon: Ctrl-C during execution ends the build
        self.args, self.kwargs, self.error = args, kwargs, None

    def run(self) -> None:
        try:
            # Lowest priority, for this thread only (Linux schedules threads one by one): the
            # kernels keep the cores while they all run, and Sphinx reads in the time they
            # leave, when the last chapters run alone. Elsewhere a thread id is no pid: skip.
            if sys.platform == "linux":
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            sphinx_build(*self.args, **self.kwargs)
        except BaseException as err:  # handed to the main thread by result()
            self.error = err

    def result(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


# --------------------------------------------------------------------------- sphinx


def sphinx_build(paths: Paths, config: dict, fresh: bool = False) -> int:
    """Render the pages from the cache. Serial: sphinx-external-toc loads an extension
    (sphinx_multitoc_numbering) that is not marked parallel-safe, and with every notebook
    already executed, reading is quick anyway."""
    from jupyter_book.config import get_final_config
    from sphinx.application import Sphinx
    from sphinx.errors import SphinxError
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    if config.get("only_build_toc_files"):
        # Same meaning, found faster: sphinx-external-toc lists the files to exclude with a
        # recursive glob over the whole source folder, .venv and node_modules included (about
        # a second per build); this walk skips the folders Sphinx is told to ignore anyway.
        config = {**config, "only_build_toc_files": False}
        config["exclude_patterns"] = [*config.get("exclude_patterns", []), *unlisted_sources(paths.root, config)]
    sphinx_config, _ = get_final_config(
        user_yaml=config,
        cli_config={
            "nitpicky": True,  # -n: a reference to a missing target is a warning (so an error)
            "external_toc_path": str(paths.root / "_toc.yml"),
            "latex_individualpages": False,
        },
        sourcedir=paths.root,
        use_external_toc=True,
    )
    paths.reports.mkdir(parents=True, exist_ok=True)
    log = (paths.reports / "sphinx.log").open("w", encoding="utf8")  # progress; warnings go to stderr
    warnings = WarningLog(sys.stderr)
    with log, patch_docutils(str(paths.root)), docutils_namespace():
        try:
            app = Sphinx(
                srcdir=str(paths.root), confdir=None, outdir=str(paths.html), doctreedir=str(paths.build / ".doctrees"),
                buildername="html", confoverrides=sphinx_config, status=log, warning=warnings,
                warningiserror=True, keep_going=True, parallel=1, freshenv=fresh,
            )  # fmt: skip
            app.build()
        except SphinxError as err:  # an extension or the configuration stopped Sphinx itself
            raise BuildError(f"\nBUILD FAILED: {err}\n(Sphinx's log: {paths.reports / 'sphinx.log'})") from err
    if app.statuscode:
        raise BuildError(warnings.summary(paths.root))
    return app.statuscode


def unlisted_sources(root: Path, config: dict) -> list[str]:
    """Every .md and .ipynb file under ``root`` that _toc.yml does not list (``only_build_toc_files``)."""
    from sphinx.util.matching import Matcher

    listed, excluded, found = set(toc_docnames(root)), Matcher(config.get("exclude_patterns", [])), []
    for folder, dirs, files in os.walk(root):
        here = Path(folder).relative_to(root)
        dirs[:] = [d for d in dirs if not excluded((here / d).as_posix())]
        for name in files:
            path = here / name
            if path.suffix in (".md", ".ipynb") and path.with_suffix("").as_posix() not in listed:
                found.append(path.as_posix())
    return sorted(found)


class WarningLog:
    """Sphinx's warning stream: passed on to stderr as it comes, and kept for a summary at the end."""

    LINE = re.compile(r"^(?:(?P<file>.+?):(?P<line>\d*):? )?(?P<level>WARNING|ERROR|CRITICAL|SEVERE): (?P<message>.*)$")

    def __init__(self, stream):
        self.stream, self.chunks = stream, []

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.chunks.append(text)

    def flush(self) -> None:
        self.stream.flush()

    def summary(self, root: Path) -> str:
        """One line per warning, ``file:line: message``, with the file relative to the book."""
        found = []
        for text in ANSI.sub("", "".join(self.chunks)).splitlines():
            match = self.LINE.match(text.strip())
            if not match:
                continue
            file = match["file"] or "(no file)"
            if Path(file).is_absolute() and Path(file).is_relative_to(root):
                file = Path(file).relative_to(root).as_posix()
            line = int(match["line"]) if match["line"] else 0
            found.append((file, line, f"  {file}{f':{line}' if line else ''}: {match['message']}"))
        lines = [item[2] for item in sorted(set(found))]
        head = f"\nBUILD FAILED: Sphinx reported {len(lines)} warning(s); every warning is an error here. Fix each at "
        head += "the file and line shown (Sphinx's full output is above):"
        return "\n".join([head, *lines]) if lines else "\nBUILD FAILED: Sphinx failed; its messages are above."


# --------------------------------------------------------------------------- main


# What a copy of the book needs in order to build on its own (tests and benchmarks build copies).
BOOK_FILES = ["_config.yml", "_toc.yml", "requirements.txt", "book", "code", "tools", "_static"]


def copy_book(dest: Path, root: Path = ROOT, cache: bool = False) -> Path:
    """Copy the book's sources to ``dest`` (node_modules linked, for KaTeX); with ``cache``, the
    executed notebooks too, so that the copy executes only what differs from ``root``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.is_file():
            shutil.copy2(src, dest / name)
    if (root / "node_modules").is_dir():
        (dest / "node_modules").symlink_to(root / "node_modules", target_is_directory=True)
    if cache and (root / "_build" / ".jupyter_cache").is_dir():
        shutil.copytree(root / "_build" / ".jupyter_cache", dest / "_build" / ".jupyter_cache")
    return dest


def fingerprint(root: Path, config: dict) -> str:
    """Everything the site is made from; when it is unchanged there is nothing to do."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for folder in ("book", "code/src", "tools", "_static"):
        base = root / folder
        if base.is_dir():
            for path in source_files(base):
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    for name in ("_toc.yml", "_config.yml", "requirements.txt"):
        if (root / name).is_file():
            digest.update((root / name).read_bytes())
    return digest.hexdigest()


def build(root: Path = ROOT, jobs: int | None = None, force: bool = False) -> int:
    paths = Paths(root)
    config = load_config(root)
    finger = fingerprint(root, config)
    stamp = paths.build / ".fingerprint"
    index = paths.html / "index.html"
    if not force and index.is_file() and stamp.is_file() and stamp.read_text() == finger:
        print("Nothing changed since the last build; 0 chapters executed.")
        print(f"Site: {index}")
        return 0
    stamp.unlink(missing_ok=True)

    chapters = find_chapters(root)
    for chapter in chapters:
        front_matter(chapter)
        chapter.notebook = read_notebook(chapter)
        chapter.cells = sum(1 for c in chapter.notebook.cells if c.cell_type == "code")

    pkg_hash = package_hash(root)
    requirements = root / "requirements.txt"
    pins = hashlib.sha256(requirements.read_bytes()).hexdigest() if requirements.is_file() else ""
    manifest_path = paths.cache / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    stale = []
    for chapter in chapters:
        chapter.key = chapter_key(chapter, pkg_hash, pins)
        if not chapter.cells:
            # Nothing to run, but myst-nb's cache mode would start a kernel for a notebook it
            # cannot find in the cache: store the chapter as it is.
            if not cached(chapter, paths, manifest):
                store(chapter, paths)
                manifest[chapter.docname] = {"key": chapter.key, "seconds": 0.0, "at": time.time()}
            continue
        if not force and cached(chapter, paths, manifest):
            chapter.status = "cached"
            chapter.seconds = manifest[chapter.docname].get("seconds", 0.0)
        else:
            stale.append(chapter)

    # Sphinx rewrites only the pages whose sources changed. Two cases need every page: a new
    # reading order, configuration, extension or static file (each page's navigation shows
    # the whole book and links the static bundle), and a previous Sphinx run that failed (a
    # page whose reference was broken then is fixed by a change elsewhere, and would keep the
    # broken link).
    structure = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    structure.update((root / "_toc.yml").read_bytes())
    for path in sorted((root / "tools").glob("*.py")) + source_files(root / "_static"):
        structure.update(path.read_bytes())  # our extensions, CSS and scripts shape every page
    structure_stamp = paths.build / ".structure"
    same = structure_stamp.is_file() and structure_stamp.read_text() == structure.hexdigest()
    structure_stamp.unlink(missing_ok=True)  # kept only while the last Sphinx run succeeded
    fresh = force or not same
    if fresh:
        shutil.rmtree(paths.html, ignore_errors=True)  # no page of a removed chapter survives

    if stale:
        execute_with_sphinx(stale, chapters, paths, config, fresh, manifest, jobs)
    else:
        write_report(chapters, paths, manifest)
        sphinx_build(paths, config, fresh=fresh)
    structure_stamp.write_text(structure.hexdigest())
    stamp.write_text(finger)
    print(f"\nSite: {index}")
    return 0


def execute_with_sphinx(stale, chapters, paths, config, fresh, manifest, jobs) -> None:
    """Execute the stale chapters while Sphinx reads every other page, then the chapters as
    they finish (tools/sphinx_pending.py): the tail of a cold build, when the longest chapter
    runs alone, no longer leaves a core idle."""
    import sphinx_pending

    # Every stale chapter at once (up to 4 per core), each kernel on one torch thread: the
    # operating system shares the cores, so the longest chapter starts at once instead of
    # waiting for a free slot, which matters most on a cold cache where no timings are known.
    # Measured on 2 cores: a cold build of 6 chapters took 19 s this way, 27 s two at a time.
    jobs = jobs or min(len(stale), 4 * (os.cpu_count() or 1))
    timeout = int(config.get("execute", {}).get("timeout", 600))
    total = sum(1 for c in chapters if c.cells)
    print(f"Executing {len(stale)} of {total} chapters ({min(jobs, len(stale))} at a time):")
    # Expected to finish first first (by last known time; unknown ones in reading order), which
    # is also the order Sphinx reads them in.
    stale.sort(key=lambda c: manifest.get(c.docname, {}).get("seconds", 0.0))
    schedule = sphinx_pending.Schedule([c.docname for c in stale])
    sphinx_pending.SCHEDULE = schedule
    sphinx = SphinxThread(paths, config, fresh=fresh)
    sphinx.start()
    try:
        asyncio.run(run_all(stale, paths, jobs, timeout, manifest, schedule))
    finally:
        write_report(chapters, paths, manifest)
        schedule.finish()  # the report is written; a failed chapter stops Sphinx where it waits
    failed = [c for c in chapters if c.status == "failed"]
    try:
        sphinx.result()
    except BuildError:
        if not failed:
            raise
    finally:
        sphinx_pending.SCHEDULE = None
    if failed:
        lines = [f"\nBUILD FAILED: {len(failed)} chapter(s) raised an error; the site was not built."]
        for c in failed:
            lines += [f"  {c.rel}, {c.error}", f"    full traceback: {c.report.relative_to(paths.root)}"]
        raise BuildError("\n".join(lines))


def write_report(chapters: list[Chapter], paths: Paths, manifest: dict) -> None:
    """The cache's manifest (each chapter's key and last execution time) and the execution report."""
    paths.cache.mkdir(parents=True, exist_ok=True)
    (paths.cache / "manifest.json").write_text(json.dumps(manifest, indent=1))
    paths.reports.mkdir(parents=True, exist_ok=True)
    report = [
        {"chapter": c.rel, "status": c.status, "seconds": round(c.seconds, 2), "code_cells": c.cells} for c in chapters
    ]
    (paths.reports / "execution.json").write_text(json.dumps(report, indent=1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs", type=int, default=None, help="chapters executed at once (default: all stale ones, up to 4 per core)"
    )
    parser.add_argument("--force", action="store_true", help="re-execute every chapter and rebuild every page")
    args = parser.parse_args(argv)
    try:
        return build(ROOT, jobs=args.jobs, force=args.force)
    except BuildError as err:
        print(str(err), file=sys.stderr)
        return 1


if __name__ == "__main__":
    code = main()
    # Leave without tearing the interpreter down object by object (Sphinx's environment and
    # the rest: 0.3 s of a build), once the exit handlers (KaTeX's node server, temporary
    # folders, logging) have run and the output is flushed; everything is written by now.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
