"""Sphinx extension: light, offline pages, through documented switches and events.

A default Jupyter Book 1 page downloads 2.5 MB in 32 requests, 1.49 MB of it fontawesome.js,
and takes its math renderer from a CDN (raw TeX offline). Configuration handles math
(sphinxcontrib-katex's ``katex_prerender``: KaTeX's HTML in the page, no math JavaScript) and a
template override fontawesome.js (``_templates/layout.html``). This extension does the rest:

- ``builder-inited``: start the KaTeX server, retrying a refused connection (``start_katex``: on a
  busy 2-core machine node may not listen yet when sphinxcontrib-katex connects).
- ``html-page-context``: drop Thebe's scripts (the launch buttons open Colab and Binder), defer
  the others, add a meta description (Lighthouse's SEO audit), and make a formula KaTeX cannot
  parse (shipped as red TeX) a warning naming the page, so an error under ``-W``.
- ``build-finished``: copy KaTeX's CSS and fonts from npm's ``katex``; cut the Font Awesome webfonts
  the theme's CSS draws icons with to the icons used (fontTools' subsetter; 300,160 -> 4,252 bytes).

HTML is never edited by pattern; ``icon_codepoints``, the one reader of CSS text, raises when it
finds no icon rule, so a theme upgrade that changes that format fails the build.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import zlib
from html import escape, unescape
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)
DESCRIPTION_CHARS = 155  # what search engines show of a meta description
NOT_PROSE = (nodes.caption, nodes.list_item)  # paragraphs a description leaves out
KATEX_ERROR = re.compile(r'class="katex-error" title="(?:ParseError: )?(?P<message>[^"]*)"[^>]*>(?P<tex>[^<]*)<')
WEBFONTS = "_static/vendor/fontawesome/webfonts"


def start_katex(app) -> None:
    """Start the KaTeX server, retrying a refused connection; a failed try leaves node running as the
    local ``process`` of sphinxcontrib-katex 0.9.11's ``start_server_process`` (a test checks it)."""
    if app.builder.format != "html" or not app.config.katex_prerender:
        return
    from sphinxcontrib.katex import KaTeXServer

    for attempt in range(10):
        try:
            KaTeXServer.get()
            return
        except ConnectionRefusedError as err:
            frame = err.__traceback__
            while frame is not None:
                leftover = frame.tb_frame.f_locals.get("process")
                if isinstance(leftover, subprocess.Popen):
                    leftover.kill()
                    leftover.wait()
                frame = frame.tb_next
            time.sleep(0.05 * (attempt + 1))
    raise ExtensionError("the KaTeX server (node) refused every connection: is node installed and working?")


def unused(asset) -> bool:
    """A script or stylesheet of Thebe (by file name, or the text of an inline script)."""
    text = f"{getattr(asset, 'filename', asset) or ''} {getattr(asset, 'attributes', {}).get('body', '')}"
    return "thebe" in text.lower()


def deferred(script):
    """The script as ``app.add_js_file(..., loading_method="defer")`` makes it: run in order once
    the page is parsed, not blocking its first paint (Lighthouse, phone on 4G: 3.3 -> 2.0 s)."""
    if not getattr(script, "filename", None) or {"async", "defer"} & set(script.attributes):
        return script
    return type(script)(script.filename, priority=script.priority, **script.attributes, defer="defer")


def page_context(app, pagename, templatename, context, doctree) -> None:
    context["css_files"] = [css for css in context.get("css_files", []) if not unused(css)]
    scripts = [script for script in context.get("script_files", []) if not unused(script)]
    # search.html's template adds searchtools.js, which needs the others at once: none deferred there
    context["script_files"] = scripts if pagename == "search" else [deferred(s) for s in scripts]
    if doctree is not None and 'name="description"' not in context.get("metatags", ""):
        text = describe(doctree) or f"{context.get('title', pagename)} - {app.config.project}"
        context["metatags"] = context.get("metatags", "") + f'\n<meta name="description" content="{escape(text)}" />'
    for error in KATEX_ERROR.finditer(context.get("body", "")):
        logger.warning(
            "KaTeX cannot typeset `%s`: %s", unescape(error["tex"]), unescape(error["message"]), location=pagename
        )


def describe(doctree) -> str:
    """The page's first paragraphs of prose, cut at a word to a search-result snippet."""
    paragraphs = (p for p in doctree.findall(nodes.paragraph) if not isinstance(p.parent, NOT_PROSE))
    text = " ".join(" ".join(p.astext() for p in paragraphs).split())
    if len(text) > DESCRIPTION_CHARS:
        text = text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


def icon_codepoints(css: str, pages: list[str]) -> set[int]:
    """The Font Awesome code points drawn: the pages' ``fa-*`` icons (by the theme's rules
    ``.fa-NAME:before{content:"\\f135"}``) and the CSS's custom properties ``--pst-icon-*``."""
    rules = {m[1]: int(m[2], 16) for m in re.finditer(r'\.fa-([\w-]+):{1,2}before\{content:"\\([0-9a-f]{4})"', css)}
    if not rules:
        raise ExtensionError("no `.fa-NAME:before{content:...}` rule in the theme's CSS: update tools/lean_site.py")
    used = {name for page in pages for name in re.findall(r"\bfa-([\w-]+)", page)}
    properties = {int(c, 16) for c in re.findall(r'--pst-icon-[\w-]+:\s*"\\([0-9a-f]{4})"', css)}
    return {rules[name] for name in used if name in rules} | properties


def subset_icon_fonts(outdir: Path, cache: Path) -> None:
    """Cut Font Awesome's webfonts to the icons the site uses (fontTools' ``Subsetter``), under the
    same file names. Sphinx copies the whole fonts on every build: a subset made before is reused
    from ``cache`` (measured: 0.23 s of a 2 s rebuild)."""
    import logging as std_logging

    css = "\n".join(p.read_text(encoding="utf8") for p in (outdir / "_static").rglob("*.css"))
    codepoints = icon_codepoints(css, [p.read_text(encoding="utf8") for p in outdir.rglob("*.html")])
    for font_path in sorted((outdir / WEBFONTS).glob("*.woff2")):
        subset_path = cache / f"{zlib.crc32(font_path.read_bytes() + repr(sorted(codepoints)).encode()):08x}.woff2"
        if not subset_path.is_file():
            from fontTools import subset
            from fontTools.ttLib import TTFont

            std_logging.getLogger("fontTools").setLevel(std_logging.WARNING)  # it logs each table at INFO
            font = TTFont(font_path)
            subsetter = subset.Subsetter(subset.Options(flavor="woff2", layout_features=["*"], name_IDs=["*"]))
            subsetter.populate(unicodes=codepoints & set(font.getBestCmap()))
            subsetter.subset(font)
            cache.mkdir(parents=True, exist_ok=True)
            font.save(subset_path.with_suffix(".part"))  # renamed whole: an interrupted save is not reused
            subset_path.with_suffix(".part").replace(subset_path)
        shutil.copyfile(subset_path, font_path)
    for ttf in (outdir / WEBFONTS).glob("*.ttf"):  # a fallback no browser of the last decade asks for
        ttf.unlink()


def copy_katex_assets(app, exception) -> None:
    """KaTeX's stylesheet and fonts, from npm's ``katex``, into ``_static/katex/`` (through
    ``html_static_path``, Jupyter Book would link every file of the package into every page)."""
    if exception is not None or app.builder.format != "html" or not app.config.katex_prerender:
        return
    dist = Path(app.srcdir, "node_modules", "katex", "dist")
    if not (dist / "katex.min.css").is_file():
        logger.warning(
            f"{dist.relative_to(app.srcdir)} is missing: run `npm ci` (make html does) for KaTeX's CSS and fonts"
        )
        return
    dest = Path(app.outdir, "_static", "katex")
    shutil.copytree(dist / "fonts", dest / "fonts", dirs_exist_ok=True)
    shutil.copy2(dist / "katex.min.css", dest / "katex.min.css")


def build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html" and (Path(app.outdir) / WEBFONTS).is_dir():
        subset_icon_fonts(Path(app.outdir), Path(app.doctreedir, "icon-fonts"))


def setup(app):
    app.connect("builder-inited", start_katex, priority=900)  # after sphinxcontrib-katex's (500)
    app.connect("html-page-context", page_context)
    app.connect("build-finished", copy_katex_assets)
    app.connect("build-finished", build_finished, priority=900)  # after the theme copies its files
    version = zlib.crc32(Path(__file__).read_bytes())  # Sphinx reads and writes every page again when this file changes
    # Not parallel-write safe: start_katex starts one KaTeX server before Sphinx would fork its
    # writers, and forked writers would share its socket. (The book is written serially anyway.)
    return {"version": "1.0", "env_version": version, "parallel_read_safe": True, "parallel_write_safe": False}
