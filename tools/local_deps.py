"""Sphinx extension: re-execute the notebooks that import a local package when it changes.

myst-nb's execution cache (jupyter-cache, ``nb_execution_mode = "cache"``) keys a notebook on
its code cells only, so editing a package that the notebooks import leaves their old outputs
on the page (executablebooks/MyST-NB#329, still open). This extension adds the missing rule:

    A cached notebook whose code imports a package named in ``local_deps_packages`` stays valid
    only while every source file of that package is byte for byte what it was when the notebook
    was executed. Otherwise its cache record is removed before Sphinx reads the sources, and the
    page is read again, so myst-nb executes exactly the notebooks that import what changed.

The same holds for every notebook and each file named in ``local_deps_files`` (paths relative
to the source folder, such as the pinned requirements that decide which torch ran the code).
Configuration (conf.py, or ``sphinx: config:`` in a Jupyter Book ``_config.yml``)::

    local_deps_packages = ["day08"]            # importable names; found where the build imports them
    local_deps_files = ["requirements.txt"]    # every notebook depends on these

``local_deps.json`` beside the cache keeps ``{notebook hash: {dependency: digest}}``, stamped
when a build finishes with the digests of when it began (an edit made meanwhile counts as a change);
a record without a stamp (made before, or by a build that stopped early) counts as stale. Public APIs only: jupyter-cache's ``get_cache``,
``list_cache_records``, ``get_cache_bundle``, ``remove_cache`` (what ``jcache cache remove``
calls); Sphinx's ``env-get-outdated`` and ``build-finished``. ``tools/execute.py`` calls
``evict_stale`` and ``stamp`` too, before and after it fills the cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)
STAMPS = "local_deps.json"
GENERATED = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache"}
STARTED: dict[str, dict[str, str]] = {}  # source folder -> the digests when its build began


def package_digest(name: str) -> str:
    """A digest of the package's source files (paths and bytes), as the build would import it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ValueError(f"local_deps_packages names {name!r}, which cannot be imported: install it or fix the name")
    roots = [Path(p) for p in spec.submodule_search_locations or []] or [Path(spec.origin)]
    digest = hashlib.sha256()
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            parts = path.relative_to(root.parent).parts
            if GENERATED.isdisjoint(parts) and not any(p.endswith(".egg-info") for p in parts):
                digest.update("/".join(parts).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes() if path.is_file() else b"(missing)").hexdigest()


def digests(packages: list[str], files: list[str], root: Path) -> dict[str, str]:
    """The current digest of every dependency, keyed ``package`` or ``file:path``."""
    return {**{p: package_digest(p) for p in packages}, **{f"file:{f}": file_digest(root / f) for f in files}}


def imported(notebook, packages: list[str]) -> list[str]:
    """The listed packages that the notebook's code cells import (``import p``, ``from p...``)."""
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    return [p for p in packages if re.search(rf"^\s*(?:from|import)\s+{re.escape(p)}\b", code, re.MULTILINE)]


def _stamps(cache) -> tuple[Path, dict]:
    path = Path(cache.path) / STAMPS
    return path, (json.loads(path.read_text(encoding="utf8")) if path.is_file() else {})


def evict_stale(cache, packages: list[str], files: list[str] = (), root: Path = Path(), current=None) -> list[str]:
    """Remove the cache records executed against other versions of their dependencies than
    ``current`` (default: now); return their notebooks' URIs (the paths myst-nb stored them under)."""
    if not packages and not files:
        return []
    current = current or digests(packages, files, root)
    path, stamps = _stamps(cache)
    evicted = []
    for record in cache.list_cache_records():
        stamp = stamps.get(record.hashkey)
        if stamp is None:  # made before we knew it, or by a build that stopped early
            try:
                stale = bool(files) or bool(imported(cache.get_cache_bundle(record.pk).nb, packages))
            except KeyError:  # its notebook file is gone: useless either way
                stale = True
        else:
            stale = any(stamp.get(f"file:{f}") != current[f"file:{f}"] for f in files)
            stale = stale or any(stamp[p] != current.get(p) for p in stamp if not p.startswith("file:"))
        if stale:
            cache.remove_cache(record.pk)
            stamps.pop(record.hashkey, None)
            evicted.append(record.uri)
    path.write_text(json.dumps(stamps, indent=1, sort_keys=True), encoding="utf8")
    return evicted


def stamp(cache, packages: list[str], files: list[str] = (), root: Path = Path(), current=None) -> None:
    """Note, for each record not yet noted, the digests it was made with (``current``: taken before it ran)."""
    path, stamps = _stamps(cache)
    for record in cache.list_cache_records():
        if record.hashkey not in stamps:
            current = current or digests(packages, files, root)
            uses = imported(cache.get_cache_bundle(record.pk).nb, packages) + [f"file:{f}" for f in files]
            stamps[record.hashkey] = {dep: current[dep] for dep in uses}
    path.write_text(json.dumps(stamps, indent=1, sort_keys=True), encoding="utf8")


def _cache(app):
    if app.config.nb_execution_mode != "cache" or not (app.config.local_deps_packages or app.config.local_deps_files):
        return None
    from jupyter_cache import get_cache

    return get_cache(app.config.nb_execution_cache_path or ".jupyter_cache")


def outdated(app, env, added, changed, removed) -> list[str]:
    """``env-get-outdated``: evict stale records and have Sphinx read their pages again."""
    cache = _cache(app)
    if cache is None:
        return []
    packages, files, root = app.config.local_deps_packages, app.config.local_deps_files, Path(app.srcdir)
    STARTED[app.srcdir] = current = digests(packages, files, root)  # before myst-nb runs a notebook
    docs = []
    for uri in evict_stale(cache, packages, files, root, current):
        docname = env.path2doc(uri)
        if docname in env.found_docs and docname not in added | changed:
            docs.append(docname)
    if docs:
        logger.info(f"local_deps: a dependency of {', '.join(sorted(docs))} changed; executing again")
    return docs


def build_finished(app, exception) -> None:
    cache, current = _cache(app), STARTED.pop(app.srcdir, None)
    if cache is not None:
        stamp(cache, app.config.local_deps_packages, app.config.local_deps_files, Path(app.srcdir), current)


def setup(app):
    app.setup_extension("myst_nb")
    app.add_config_value("local_deps_packages", [], "env", [list])
    app.add_config_value("local_deps_files", [], "env", [list])
    app.connect("env-get-outdated", outdated)
    app.connect("build-finished", build_finished)
    # Both handlers run in the main process, before reading and after writing; no env data.
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
