"""Sphinx extension: light, offline pages, through documented switches and events.

A default Jupyter Book 1 page downloads 2.5 MB in 32 requests, 1.49 MB of it fontawesome.js,
and takes its math renderer from a CDN (raw TeX offline). Math is handled by configuration
(``_config.yml``: sphinxcontrib-katex's ``katex_prerender`` writes KaTeX's HTML into the page
at build time, so pages ship no math JavaScript), fontawesome.js by a template override
(``_templates/layout.html``). This extension does the rest, each step on a documented event:

- ``builder-inited``: start sphinxcontrib-katex's node server before any page is written,
  retrying (``start_katex``): it connects once the socket file exists, which can be before node
  listens (ConnectionRefusedError; seen on a busy 2-core machine), and leaves node running.
- ``html-page-context``: drop Thebe's script and configuration (unused: the launch buttons
  open Colab and Binder), add a meta description (the page's first paragraphs; Lighthouse's
  SEO audit asks for one), and turn a formula KaTeX could not parse (shipped as red TeX) into
  a warning naming the page, so an error under ``-W``.
- ``build-finished``: copy KaTeX's CSS and fonts from npm's ``katex`` (``copy_katex_assets``);
  cut Font Awesome's webfonts, which the theme's CSS draws the icons with once fontawesome.js
  is gone (300 KB of woff2 for a dozen icons), down to the icons the pages use, with fontTools'
  documented subsetter (``subset_icon_fonts``; measured: 300,160 -> 4,252 bytes).

HTML is never edited by pattern; the one place that reads CSS text, ``icon_codepoints``,
raises when it finds no icon rule, so a theme upgrade that changes that format fails the build.
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
KATEX_ERROR = re.compile(r'class="katex-error" title="(?:ParseError: )?(?P<message>[^"]*)"[^>]*>(?P<tex>[^<]*)<')
WEBFONTS = "_static/vendor/fontawesome/webfonts"


def start_katex(app) -> None:
    """Start the KaTeX server now, retrying a refused connection (see the module docstring). The
    node process a failed try leaves is the local ``process`` of sphinxcontrib-katex 0.9.11's
    ``start_server_process`` (tests/test_extensions.py checks that against the installed source)."""
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


def page_context(app, pagename, templatename, context, doctree) -> None:
    for key in ("script_files", "css_files"):
        context[key] = [asset for asset in context.get(key, []) if not unused(asset)]
    if doctree is not None and 'name="description"' not in context.get("metatags", ""):
        text = describe(doctree) or f"{context.get('title', pagename)} - {app.config.project}"
        context["metatags"] = context.get("metatags", "") + f'\n<meta name="description" content="{escape(text)}" />'
    for error in KATEX_ERROR.finditer(context.get("body", "")):
        logger.warning(
            "KaTeX cannot typeset `%s`: %s", unescape(error["tex"]), unescape(error["message"]), location=pagename
        )


def describe(doctree) -> str:
    """The page's first paragraphs of prose, cut at a word to a search-result snippet."""
    text = ""
    for para in doctree.findall(nodes.paragraph):
        if isinstance(para.parent, (nodes.caption, nodes.list_item)):
            continue
        text = f"{text} {' '.join(para.astext().split())}".strip()
        if len(text) >= DESCRIPTION_CHARS:
            break
    if len(text) > DESCRIPTION_CHARS:
        text = text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


def icon_codepoints(css: str, pages: list[str]) -> set[int]:
    """The Font Awesome code points the site draws: the ``fa-*`` icons in the pages (looked up
    in the theme's ``.fa-NAME:before{content:"\\f135"}`` rules) and every code point the CSS
    puts in a custom property (the theme's admonition and link icons, ``--pst-icon-*``)."""
    rules = {m[1]: int(m[2], 16) for m in re.finditer(r'\.fa-([\w-]+):{1,2}before\{content:"\\([0-9a-f]{4})"', css)}
    if not rules:
        raise ExtensionError("no `.fa-NAME:before{content:...}` rule in the theme's CSS: update tools/lean_site.py")
    used = {name for page in pages for name in re.findall(r"\bfa-([\w-]+)", page)}
    properties = {int(c, 16) for c in re.findall(r'--pst-icon-[\w-]+:\s*"\\([0-9a-f]{4})"', css)}
    return {rules[name] for name in used if name in rules} | properties


def subset_icon_fonts(outdir: Path) -> None:
    """Cut Font Awesome's webfonts down to the icons the site uses (fontTools' documented
    ``Subsetter``); the theme's @font-face rules keep pointing at the same file names."""
    import logging as std_logging

    from fontTools import subset
    from fontTools.ttLib import TTFont

    std_logging.getLogger("fontTools").setLevel(std_logging.WARNING)  # it logs each table at INFO

    css = "\n".join(p.read_text(encoding="utf8") for p in (outdir / "_static").rglob("*.css"))
    pages = [p.read_text(encoding="utf8") for p in outdir.rglob("*.html")]
    codepoints = icon_codepoints(css, pages)
    for font_path in sorted((outdir / WEBFONTS).glob("*.woff2")):
        font = TTFont(font_path)
        options = subset.Options(flavor="woff2", layout_features=["*"], name_IDs=["*"])
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints & set(font.getBestCmap()))
        subsetter.subset(font)
        font.flavor = "woff2"
        font.save(font_path)
    for ttf in (outdir / WEBFONTS).glob("*.ttf"):  # a fallback no browser of the last decade asks for
        ttf.unlink()


def copy_katex_assets(app, exception) -> None:
    """KaTeX's stylesheet and fonts, from npm's ``katex`` (the version sphinxcontrib-katex bundles),
    into ``_static/katex/``: copied here rather than listed in ``html_static_path``, where Jupyter
    Book would link every script and stylesheet of the package into every page."""
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
        subset_icon_fonts(Path(app.outdir))


def setup(app):
    app.connect("builder-inited", start_katex, priority=900)  # after sphinxcontrib-katex's (500)
    app.connect("html-page-context", page_context)
    app.connect("build-finished", copy_katex_assets)
    app.connect("build-finished", build_finished, priority=900)  # after the theme copies its files
    version = zlib.crc32(Path(__file__).read_bytes())  # Sphinx reads and writes every page again when this file changes
    # Not parallel-write safe: start_katex starts one KaTeX server before Sphinx would fork its
    # writers, and forked writers would share its socket. (The book is written serially anyway.)
    return {"version": "1.0", "env_version": version, "parallel_read_safe": True, "parallel_write_safe": False}
