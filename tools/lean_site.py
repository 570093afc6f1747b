"""A light, offline, accessible site: what this Sphinx extension changes in every page.

A default Jupyter Book 1 chapter page downloads 2.5 MB in 32 requests (fontawesome.js alone is
1.49 MB), takes its math renderer from a CDN (raw TeX offline) and logs 3 console errors. This
extension (``local_extensions`` in ``_config.yml``) fixes that site-wide, for every page:

- **Math pre-rendered, no CDN.** sphinxcontrib-katex with ``katex_prerender`` turns every
  formula into HTML at build time, running npm's ``katex`` (pinned in package-lock.json) under
  node, while Sphinx reads the page (``render_math_ahead``; a formula it cannot parse fails the
  build at its file and line). Pages ship no math JavaScript, only KaTeX's CSS and the fonts
  their formulas use, from ``node_modules/katex``, cut down to the characters the site's
  formulas contain (``katex_fonts``: 108 KB to 41 KB for the six fonts the softmax chapter
  needs). (Vendoring MathJax instead would add ~1 MB of JavaScript that typesets in the
  reader's browser on every visit.)
- **Icons without fontawesome.js.** The theme loads a 1.49 MB script to draw about ten icons.
  We drop it and write ``_static/icons.css``: one CSS mask per icon the site really uses, with
  the icon's SVG path taken from the theme's own copy of Font Awesome (free licence). The few
  icons the theme's CSS draws with Font Awesome's webfonts keep working from fonts cut down
  to those glyphs (``subset_icon_fonts``: 2 KB instead of 156 KB).
- **No Thebe.** Launch buttons open Colab/Binder; the in-page Thebe runner is unused, and its
  script was declared twice (a console error) and pointed at a CDN. Its assets are removed.
- **A fast first paint.** One CSS bundle per page instead of thirteen stylesheets, without
  the rules no page can match (``prune_css``: 580 KB of theme CSS down to 160 KB), the colour
  theme resolved in the page's head (``FIXES``: the long chapters were styled twice), scripts
  deferred, the search scripts (and the search index, which grows with the book) only on the
  search page, width/height on every figure so the text does not shift as figures load, and
  code blocks without the Pygments spans that look exactly like the code around them
  (``plain_code_classes``: a seventh of the softmax chapter's elements).
- **Accessibility and SEO.** Markup fixes the theme's HTML needs for axe-core to report zero
  violations (``FIXES``), a meta description per page (its first paragraph), a favicon and a
  colour mode set in ``_config.yml``; ``_static/reader.js`` makes the sidebar buttons that the
  theme shows on phones open the navigation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from html import escape, unescape
from pathlib import Path
from urllib.parse import quote

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging as sphinx_logging

ROOT = Path(__file__).resolve().parents[1]
KATEX = ROOT / "node_modules" / "katex" / "dist"
DESCRIPTION_CHARS = 155  # what search engines show of a meta description


# --------------------------------------------------------------------------- math


def use_npm_katex(app: Sphinx, config) -> None:
    """Render with npm's KaTeX (pinned in package-lock.json), the same copy whose CSS we ship."""
    if not (KATEX / "katex.min.js").is_file():
        raise ExtensionError("node_modules/katex is missing: run `npm ci` (`make html` does it)")
    config.katex_js_path = str(KATEX / "katex.min.js")
    from sphinxcontrib.katex import KaTeXServer

    KaTeXServer.start_server_process = classmethod(start_katex_server)
    KaTeXServer.get = classmethod(katex_server_of_this_process)


# Preloaded into KaTeX's node server: it exits (and removes its folder) when the Python process
# that started it goes away, however that process ends (Sphinx's forked writers end with _exit).
EXIT_WITH_PARENT = """process.stdin.on("end", () => {
  require("fs").rmSync(__dirname, {recursive: true, force: true});
  process.exit(0);
});
process.stdin.resume();
"""


def start_katex_server(cls, rundir: Path, timeout: float):
    """sphinxcontrib-katex's node server, started without its two problems.

    1. The original connects as soon as node has created its socket file, which can be a moment
       before node listens on it: under load the build died with ConnectionRefusedError. Here
       the connection is retried until node listens (or ``timeout``).
    2. A server started in a forked writer outlived it. Here node exits when its parent does.
    """
    import socket
    import subprocess
    import time

    path = rundir / "katex.sock"
    (rundir / "exit-with-parent.js").write_text(EXIT_WITH_PARENT)
    node, *args = cls.build_command(socket=path)
    command = [node, "--require", str(rundir / "exit-with-parent.js"), *args]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=rundir)
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            return process, sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise cls.timeout_error(timeout) from None
            time.sleep(0.01)


def katex_server_of_this_process(cls):
    """One server per process: a forked writer must not share its parent's connection."""
    if cls.katex_server is None or getattr(cls, "pid", None) != os.getpid():
        cls.katex_server, cls.pid = cls.start(), os.getpid()
    return cls.katex_server


def copy_katex_css(outdir: Path) -> None:
    """KaTeX's CSS, pointing at the cut-down woff fonts that ``katex_fonts`` writes."""
    dest = outdir / "_static" / "katex"
    (dest / "fonts").mkdir(parents=True, exist_ok=True)
    css = (KATEX / "katex.min.css").read_text()
    css, n = re.subn(
        r'url\(fonts/([^)]+)\.woff2\) format\("woff2"\),url\(fonts/[^)]+\.woff\) format\("woff"\),'
        r'url\(fonts/[^)]+\.ttf\) format\("truetype"\)',
        r'url(fonts/\1.woff) format("woff")',
        css,
    )
    if n != len(list((KATEX / "fonts").glob("*.woff2"))) or ".woff2" in css or ".ttf" in css:
        raise ExtensionError("KaTeX's CSS changed shape: update copy_katex_css in tools/lean_site.py")
    (dest / "katex.min.css").write_text(css)


KATEX_HTML = re.compile(r'<span class="katex-html" aria-hidden="true">(.*)', re.S)
KATEX_ERROR = re.compile(r'class="katex-error" title="(?:ParseError: )?(?P<message>[^"]*)"')
TAG = re.compile(r"<[^>]*>")
logger = sphinx_logging.getLogger(__name__)


def render_math_ahead(app: Sphinx, doctree) -> None:
    """Typeset the page's formulas while Sphinx reads it, with the very calls the HTML writer
    makes later (memoized: see ``memoize_katex``), so that writing finds them done.

    Reading can overlap the chapters' execution (tools/sphinx_pending.py); writing cannot. On
    the way, two things only a rendered formula tells: a formula KaTeX cannot parse, which it
    would show as red TeX, becomes a warning at its file and line (so an error under ``-W``);
    and the characters its HTML draws are noted per page in the environment, for
    ``katex_fonts``. The MathML copy is left out there: the browser draws it with its own font.
    """
    if app.builder.format != "html" or not getattr(app.config, "katex_prerender", False):
        return
    from sphinxcontrib import katex

    chars = set()
    for node in doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block))):
        latex = katex.get_latex(node)  # the calls of html_visit_displaymath and html_visit_math, exactly
        display = isinstance(node, nodes.math_block)
        html = katex.render_latex(latex, {"displayMode": True}) if display else katex.render_latex(latex)
        error = KATEX_ERROR.search(html)
        if error:
            logger.warning("KaTeX cannot typeset `%s`: %s", latex, unescape(error["message"]), location=node)
        match = KATEX_HTML.search(html)
        chars.update(unescape(TAG.sub("", match.group(1))) if match else "")
    if not hasattr(app.env, "katex_characters"):
        app.env.katex_characters = {}
    app.env.katex_characters[app.env.docname] = "".join(sorted(chars))


def memoize_katex(app: Sphinx) -> None:
    """One rendering per formula: ``render_math_ahead`` and the writer share a memo."""
    if app.builder.format != "html" or not getattr(app.config, "katex_prerender", False):
        return
    from sphinx_pending import memoize
    from sphinxcontrib import katex

    if not hasattr(katex.render_latex, "memo"):  # once per process (make serve builds again and again)
        katex.render_latex = memoize(katex.render_latex)  # html_visit_math looks it up when called


def purge_katex_characters(app: Sphinx, env, docname: str) -> None:
    getattr(env, "katex_characters", {}).pop(docname, None)


def merge_katex_characters(app: Sphinx, env, docnames, other) -> None:
    if not hasattr(env, "katex_characters"):
        env.katex_characters = {}
    env.katex_characters.update({d: c for d, c in getattr(other, "katex_characters", {}).items() if d in docnames})


def katex_fonts(out: Path, env) -> tuple[dict | None, callable]:
    """KaTeX's fonts cut down to the characters the site's formulas use: (a job for
    tools/subset_fonts.py, or None when the fonts are cached; a function that installs them).

    The fonts are on the way to the first paint of any page with math (the browser asks for
    them while laying the page out), and KaTeX ships whole alphabets: 20 fonts, 108 KB for the
    six a long chapter needs. Each font keeps every character any page's formulas draw (the
    same set for all, so no font misses a character some formula draws with it). They are
    written as woff, not woff2: brotli would make them 20% smaller (34 KB instead of 41 KB for
    those six) but costs 0.4 s of a build and one more dependency. Remembered in
    ``_build/.katex_fonts`` under a hash of the characters and of KaTeX's fonts.
    """
    chars = "".join(sorted(set("".join(getattr(env, "katex_characters", {}).values()))))
    sources = sorted((KATEX / "fonts").glob("*.ttf"))  # fontTools reads woff2 only with brotli
    digest = hashlib.sha256(chars.encode())
    for font in sources:
        digest.update(font.name.encode() + font.read_bytes())
    cache = out.parent / ".katex_fonts" / digest.hexdigest()[:16]
    work = cache.with_name(cache.name + ".tmp")
    job = None
    if not cache.is_dir():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        job = {"fonts": [str(f) for f in sources], "chars": chars, "out": str(work), "flavor": "woff"}

    def install() -> None:
        if job is not None:
            for old in cache.parent.iterdir():  # the fonts of earlier builds' characters
                if old != work:
                    shutil.rmtree(old)
            work.rename(cache)
        for font in cache.glob("*.woff"):
            shutil.copy2(font, out / "_static" / "katex" / "fonts" / font.name)

    return job, install


def cut_fonts(jobs: list[dict], folder: Path) -> callable:
    """Run tools/subset_fonts.py on ``jobs`` in a separate process, on another core than the
    one finishing the pages (cutting all the fonts takes about half a second); returns a
    function that waits for it."""
    if not jobs:
        return lambda: None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "jobs.json").write_text(json.dumps(jobs, ensure_ascii=False), encoding="utf8")
    command = [sys.executable, str(Path(__file__).with_name("subset_fonts.py")), str(folder / "jobs.json")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait() -> None:
        output, _ = process.communicate()
        if process.returncode:
            raise ExtensionError(f"cutting the fonts down failed (tools/subset_fonts.py):\n{output}")

    return wait


# --------------------------------------------------------------------------- icons

ICON_PACKS = {"fab": "brands", "far": "regular", "fas": "solid"}
# One entry of the icon table inside fontawesome.js: "name":[width,height,[aliases],"unicode",path]
ICON = re.compile(r'(?:"([\w-]+)"|(\w+)):\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]+",("(?:[^"\\]|\\.)*"|\[[^\]]*\])\]')
FAMILY = {"fa-brands": "brands", "fab": "brands", "fa-regular": "regular", "far": "regular"}
NOT_ICONS = {"fa-solid", "fa-regular", "fa-brands", "fa-lg", "fa-fw", "fa-xs", "fa-sm", "fa-xl", "fa-2x", "fa-spin"}


def icon_table(fontawesome_js: str) -> dict[tuple[str, str], tuple[int, int, str]]:
    """{(family, name): (width, height, svg path)} from the packs fontawesome.js defines."""
    table = {}
    for pack in re.finditer(r"var p=\{(.*?)\};.*?\{d\(\"(fab|far|fas)\",p\)", fontawesome_js, re.S):
        family = ICON_PACKS[pack.group(2)]
        for m in ICON.finditer(pack.group(1)):
            icon = (int(m.group(3)), int(m.group(4)), json.loads(m.group(6)))
            aliases = re.findall(r'"([\w-]+)"', m.group(5))  # older names, e.g. pencil-alt for pencil
            for name in [m.group(1) or m.group(2), *aliases]:
                table[(family, name)] = icon
    return table


def used_icons(html_files) -> set[tuple[str, str]]:
    used = set()
    for html in html_files:
        for classes in re.findall(r'class="([^"]*\bfa[bsr]?\b[^"]*|[^"]*\bfa-[^"]*)"', html.read_text()):
            names = classes.split()
            family = next((FAMILY[n] for n in names if n in FAMILY), "solid")
            used |= {(family, n[3:]) for n in names if n.startswith("fa-") and n not in NOT_ICONS}
    return used


def icons_css(used, table) -> str:
    rules = [
        "/* The icons this site uses, as CSS masks (written by tools/lean_site.py). Font Awesome Free,",
        "   icons CC BY 4.0 (https://fontawesome.com/license/free). */",
        '.fa-solid::before,.fa-regular::before,.fa-brands::before,.fas::before,.far::before,.fab::before{content:"";'
        "display:inline-block;height:1em;vertical-align:-.125em;background-color:currentColor;"
        "-webkit-mask:var(--icon) center/contain no-repeat;mask:var(--icon) center/contain no-repeat}",
        ".fa-lg{font-size:1.25em;line-height:.05em;vertical-align:-.075em}",
        ".fa-fw{text-align:center;width:1.25em}",
    ]
    missing = sorted(f"{family} {name}" for family, name in used if (family, name) not in table)
    if missing:
        raise ExtensionError(f"icons used by the site but not in fontawesome.js: {missing}")
    for family, name in sorted(used):
        width, height, path = table[(family, name)]
        paths = path if isinstance(path, list) else [path]
        svg = (
            f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}'>"
            + "".join(f"<path d='{p}'/>" for p in paths if p)
            + "</svg>"
        )
        selector = {"brands": ".fa-brands,.fab", "regular": ".fa-regular,.far", "solid": ""}[family]
        scope = ",".join(f"{s}.fa-{name}::before" for s in selector.split(",")) if selector else f".fa-{name}::before"
        rules.append(f'{scope}{{width:{width / height:.4f}em;--icon:url("data:image/svg+xml,{quote(svg)}")}}')
    return "\n".join(rules) + "\n"


# --------------------------------------------------------------------------- every page


WRITTEN: set[str] = set()  # the pages Sphinx writes in this build (an edit rewrites only a few)


def page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Drop Thebe and MathJax scripts and duplicates; add a meta description."""
    WRITTEN.add(pagename)
    seen = set()
    scripts = []
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body", "") or ""
        key = getattr(script, "filename", None) or body  # reader.js came twice on the search page
        if "thebe" in str(script).lower() or "THEBE" in body or "MathJax" in body or key in seen:
            continue
        seen.add(key)
        scripts.append(script)
    context["script_files"] = scripts
    context["css_files"] = [c for c in context.get("css_files", []) if "thebe" not in str(c)]
    if 'name="description"' not in context.get("metatags", ""):
        text = describe(doctree) if doctree else ""
        book = app.config.html_title or app.config.project
        text = text or f"{context.get('title') or pagename.capitalize()} of {book}"
        context["metatags"] = context.get("metatags", "") + f'\n<meta name="description" content="{escape(text)}" />'


def describe(doctree) -> str:
    """The page's first paragraphs of prose, cut at a word to a search-result snippet."""
    text = ""
    for para in doctree.findall(nodes.paragraph):
        if para.next_node(nodes.literal_block) or isinstance(para.parent, (nodes.caption, nodes.list_item)):
            continue
        text = f"{text} {' '.join(para.astext().split())}".strip()
        if len(text) >= DESCRIPTION_CHARS:
            break
    if len(text) > DESCRIPTION_CHARS:
        text = text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


# Markup fixes, each for an axe-core rule the theme's HTML breaks. (pattern, replacement).
FIXES = [
    # fontawesome.js is replaced by _static/icons.css
    (r'\s*<script defer src="[^"]*scripts/fontawesome\.js[^"]*"></script>', ""),
    # label-content-name-mismatch: the search buttons show "Search ... Ctrl+K" but are named
    # "Search"; without aria-label their name is the text they show
    (r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="Search"', r"\1"),
    # ... and icon titles inside the colour-mode button are not its visible text
    (r'(<i class="theme-switch [^"]*" data-mode="\w+")\s+title="[^"]*"', r"\1"),
    # region: the sidebar (logo, search, table of contents) is the book's navigation landmark
    (
        r'<div\s+id="pst-primary-sidebar" class="bd-sidebar-primary',
        r'<div role="navigation" aria-label="Book" id="pst-primary-sidebar" class="bd-sidebar-primary',
    ),
    # Thebe's configuration (Thebe is not used; see the module docstring)
    (r'\s*<script type="text/x-thebe-config">.*?</script>\s*<script>kernelName = [^<]*</script>', ""),
    # Not an axe rule: speed. The theme's head script sets data-theme="auto" and its deferred
    # script later sets "light" or "dark": every element's style is computed twice (on a long
    # chapter, a full recalculation of 12,000 elements in the middle of loading). Resolve the
    # theme at once from the mode, as the theme's script does; it then finds nothing to change.
    (
        r'(document\.documentElement\.dataset\.theme = )localStorage\.getItem\("theme"\) \|\| "\w+";',
        r'\1(m => m === "auto" ? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light")'
        r" : m)(document.documentElement.dataset.mode);",
    ),
    # three identical viewport tags (Sphinx, pydata theme, book theme): keep the first
    (r'(<meta name="viewport"[^>]*>)((?:\s*<meta name="viewport"[^>]*>)+)', r"\1"),
]


SEARCH_SCRIPTS = re.compile(r'\s*<script src="[^"]*(?:searchtools|language_data|searchindex)\.js[^"]*"></script>')
SCRIPT = re.compile(r"<script\b([^>]*)\bsrc=\"([^\"]+)\"([^>]*)></script>")


def defer(match: re.Match) -> str:
    """Scripts wait for the page to be parsed (in order), instead of blocking its first paint."""
    attributes = match.group(1) + match.group(3)
    if "defer" in attributes or "async" in attributes or "documentation_options" in match.group(2):
        return match.group(0)  # inline scripts in the page read DOCUMENTATION_OPTIONS at once
    return f'<script defer{match.group(1)}src="{match.group(2)}"{match.group(3)}></script>'


IMG = re.compile(r'<img\b(?![^>]*\bwidth=)([^>]*?)\ssrc="([^"]*_images/[^"]+\.png)"([^>]*?)\s*/?>')  # figures


def png_size(path: Path) -> tuple[int, int] | None:
    head = path.read_bytes()[:24] if path.is_file() else b""
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def size_images(page: Path, html: str) -> str:
    """width and height on every PNG, so the text does not jump when a figure arrives (CLS)."""

    def add_size(m: re.Match) -> str:
        size = png_size(page.parent / m.group(2))
        if size is None:
            return m.group(0)
        return f'<img{m.group(1)} src="{m.group(2)}" width="{size[0]}" height="{size[1]}"{m.group(3)} />'

    return IMG.sub(add_size, html)


def fix_html(html: str, search_page: bool) -> str:
    for pattern, replacement in FIXES:
        html = re.sub(pattern, replacement, html, flags=re.S)
    if not search_page:  # the theme loads search on every page for a search-as-you-type we don't use
        html = SEARCH_SCRIPTS.sub("", html)
    return SCRIPT.sub(defer, html)


FONTS = "_static/vendor/fontawesome/webfonts"
PRIVATE_USE = re.compile("[\ue000-\uf8ff]")  # where icon fonts keep their glyphs


def icon_fonts(out: Path) -> tuple[dict, callable]:
    """Keep only the icon-font glyphs the theme's CSS draws (admonition and link icons): (a
    job for tools/subset_fonts.py; a function that removes the fonts it replaces).

    The theme's CSS still draws a few icons with Font Awesome's webfonts (156 KB for the solid
    one). We cut each font down to the glyphs that some ``content:`` in the site's CSS uses and
    write it as woff; the @font-face rules are rewritten here.
    """
    styles = sorted((out / "_static").rglob("*.css"))
    glyphs = {c for css in styles for c in PRIVATE_USE.findall(css.read_text())}
    theme_css = out / "_static" / "styles" / "pydata-sphinx-theme.css"
    css = theme_css.read_text()
    fonts = sorted((out / FONTS).glob("*.ttf"))
    for ttf in fonts:
        stem = ttf.stem
        css, n = re.subn(
            rf'url\(([^)]*/){stem}\.woff2\) format\("woff2"\),url\([^)]*/{stem}\.ttf\) format\("truetype"\)',
            rf'url(\g<1>{stem}.woff) format("woff")',
            css,
        )
        if n != 1:
            raise ExtensionError(f"@font-face for {stem} not found: update icon_fonts in tools/lean_site.py")
    theme_css.write_text(css)
    job = {
        "fonts": [str(f) for f in fonts],
        "chars": "".join(sorted(glyphs)),
        "out": str(out / FONTS),
        "flavor": "woff",
    }

    def install() -> None:
        for font in (out / FONTS).glob("*"):
            if font.suffix != ".woff":
                font.unlink()

    return job, install


HIGHLIGHT_SELECTOR = re.compile(r'^(?:html\[data-theme="(?P<theme>[\w-]+)"\]\s+)?\.highlight(?:\s+\.(?P<cls>[\w-]+))?$')


def plain_code_classes(out: Path) -> set[str]:
    """Pygments token classes drawn exactly like the code around them, in every colour theme.

    Pygments wraps every token in a span, whether or not the style colours it: in this theme's
    styles a name (``n``) or a bracket (``p``) has the colour of the code block itself, and
    those spans are about a seventh of a long chapter's DOM (more elements to style and lay out
    on a phone) for no visible difference. A class counts as plain when each theme's rule for
    it sets only ``color``, to that theme's code colour, and no other stylesheet has a rule
    for it aimed at code blocks (a selector that mentions ``highlight`` or ``pre``).
    """
    import tinycss2

    rules: dict[tuple[str, str], dict[str, str]] = {}
    for rule in tinycss2.parse_stylesheet((out / "_static" / "pygments.css").read_text(), True, True):
        if rule.type != "qualified-rule":
            continue
        declarations = {
            d.lower_name: tinycss2.serialize(d.value).strip().lower()
            for d in tinycss2.parse_declaration_list(rule.content, True, True)
            if d.type == "declaration"
        }
        for selector in tinycss2.serialize(rule.prelude).split(","):
            match = HIGHLIGHT_SELECTOR.match(selector.strip())
            if match:
                key = (match["theme"] or "", match["cls"] or "")
                rules[key] = {**rules.get(key, {}), **declarations}
    themes = {theme for theme, cls in rules if not cls}
    if not themes:
        return set()
    plain = {
        cls
        for cls in {cls for _, cls in rules if cls}
        if all(rules.get((t, cls), {}).items() <= {("color", rules[(t, "")].get("color"))} for t in themes)
    }
    named = re.compile(rf"\.({'|'.join(map(re.escape, sorted(plain)))})(?![\w-])") if plain else None
    for css in (out / "_static").rglob("*.css"):
        if named is None or css.name == "pygments.css" or css.name.startswith("bundle-"):
            continue
        text = re.sub(r"/\*.*?\*/", "", css.read_text(), flags=re.S)
        for chunk in text.split("{")[:-1]:
            selector = chunk.rsplit("}", 1)[-1]  # what precedes this "{" (a selector or an at-rule)
            if "highlight" in selector or "pre" in selector:  # a rule aimed at code blocks
                plain -= set(named.findall(selector))
    return plain


def unwrap_plain_tokens(html: str, plain: set[str]) -> str:
    """``<span class="n">softmax</span>`` becomes ``softmax`` when ``n`` is plain."""
    if not plain:
        return html
    pattern = re.compile(rf'<span class="(?:{"|".join(map(re.escape, sorted(plain)))})">([^<]*)</span>')
    return re.sub(
        r'(<div class="highlight"><pre>)(.*?)(</pre>)',
        lambda m: m[1] + pattern.sub(r"\1", m[2]) + m[3],
        html,
        flags=re.S,
    )


STYLESHEET = re.compile(r'\s*<link\b(?=[^>]*\brel="stylesheet")[^>]*\bhref="([^"?]+)(?:\?[^"]*)?"[^>]*>')
CSS_URL = re.compile(r'url\(\s*(["\']?)(?!data:|https?:|/|#)([^)"\']+)\1\s*\)')


CSS_IMPORT = re.compile(r'@import\s+(?:url\()?\s*["\']?([^"\')]+)["\']?\s*\)?\s*;')
SOURCE_MAP = re.compile(r"/\*# sourceMappingURL=[^*]*\*/")


def inline_css(css: Path, out: Path) -> str:
    """A stylesheet with its @imports inlined and its relative url()s rewritten for _static/."""

    def rebase(m):
        return f'url("{Path(os.path.relpath((css.parent / m.group(2)).resolve(), out / "_static")).as_posix()}")'

    text = CSS_IMPORT.sub(lambda m: inline_css((css.parent / m.group(1)).resolve(), out), css.read_text())
    return f"/* {css.relative_to(out).as_posix()} */\n" + SOURCE_MAP.sub("", CSS_URL.sub(rebase, text))


CLASS_ATTR = re.compile(r'\bclass="([^"]*)"')
WORD = re.compile(r"[\w-]+")
NESTED_RULES = {"media", "supports", "container", "layer", "document"}


def site_classes(pages: list[Path], out: Path) -> Used:
    """Every class a page can carry: those in its HTML, plus every word in the site's scripts.

    Scripts add classes at run time (Bootstrap's ``show``, the theme's ``scrolled``...); any
    word in any script counts as a class, as PurgeCSS does: it keeps a few rules too many,
    never one too few.
    """
    used = {c for page in pages for attr in CLASS_ATTR.findall(page.read_text()) for c in attr.split()}
    return Used(used | {w for js in (out / "_static").rglob("*.js") for w in WORD.findall(js.read_text())})


def selector_classes(tokens) -> list[str]:
    """The classes a selector requires, outside :not()/:is()/:has()... (those are functions)."""
    return [b.value for a, b in zip(tokens, tokens[1:], strict=False) if a == "." and b.type == "ident"]


def prune_css(css: str, used: set[str]) -> str:
    """The stylesheet without the rules no page can match, and without comments.

    The theme's CSS (Bootstrap, Font Awesome, every widget of every extension) is 580 KB; each
    page downloads it before its first paint and the browser matches every rule against every
    element. A selector is kept when every class it names (outside functional pseudo-classes)
    is in ``used``; a rule is kept with those of its selectors. Selectors on tags, ids,
    attributes (``html[data-theme=dark]``: dark mode) and states (``:hover``, ``:focus``) are not
    judged, and @font-face, @keyframes and custom properties stay as they are.
    """
    import tinycss2

    def prune(rules) -> str:
        kept = []
        for rule in rules:
            if rule.type == "qualified-rule":
                selectors, current = [], []
                for token in [*rule.prelude, tinycss2.ast.LiteralToken(0, 0, ",")]:
                    if token == ",":
                        selectors.append(current)
                        current = []
                    else:
                        current.append(token)
                keep = [s for s in selectors if set(selector_classes([t for t in s if t.type != "whitespace"])) <= used]
                if keep:
                    prelude = ",".join(tinycss2.serialize(s).strip() for s in keep)
                    kept.append(f"{prelude}{{{tinycss2.serialize(rule.content).strip()}}}")
            elif rule.type == "at-rule" and rule.lower_at_keyword in NESTED_RULES and rule.content is not None:
                inner = prune(tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True))
                if inner:
                    kept.append(f"@{rule.at_keyword} {tinycss2.serialize(rule.prelude).strip()}{{{inner}}}")
            elif rule.type == "at-rule":
                kept.append(rule.serialize())
        return "\n".join(kept)

    return prune(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))


class Used(set):
    """The classes in use (``site_classes``), with a digest for cache keys, computed once."""

    @property
    def digest(self) -> bytes:
        if not hasattr(self, "_digest"):
            self._digest = hashlib.sha256(" ".join(sorted(self)).encode()).digest()
        return self._digest


def pruned_css(css: str, used: Used, cache: Path) -> str:
    """``prune_css``, remembered on disk: parsing the theme's 580 KB takes about a second, and
    most pages (and most rebuilds) ask for the same stylesheets with the same classes in use."""
    key = hashlib.sha256(css.encode() + b"\0" + used.digest).hexdigest()[:24]
    path = cache / f"{key}.css"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(prune_css(css, used))
    return path.read_text()


def bundle_css(page: Path, html: str, out: Path, used: Used) -> str:
    """One stylesheet per page instead of thirteen: each blocked the first paint for a round trip.

    The page's stylesheets are concatenated in order into ``_static/bundle-<hash>.css`` (pages
    with the same list share one file), with their relative ``url()``s rewritten for _static/
    and the rules that no page of the site can use removed (``prune_css``).
    """
    links = list(STYLESHEET.finditer(html))
    if len(links) < 2 or any("media=" in m.group(0) for m in links):
        return html
    css = "\n".join(inline_css((page.parent / m.group(1)).resolve(), out) for m in links)
    text = pruned_css(css, used, out.parent / ".pruned_css")  # _build/.pruned_css
    name = f"bundle-{hashlib.sha256(text.encode()).hexdigest()[:12]}.css"
    (out / "_static" / name).write_text(text)
    href = Path(os.path.relpath(out / "_static" / name, page.parent)).as_posix()
    first, *rest = links
    html = html[: first.start()] + f'\n<link rel="stylesheet" href="{href}" />' + html[first.end() :]
    for m in reversed(rest):
        shift = len(f'\n<link rel="stylesheet" href="{href}" />') - (first.end() - first.start())
        html = html[: m.start() + shift] + html[m.end() + shift :]
    return html


UNUSED = [
    "_static/scripts/fontawesome.js",
    "_static/scripts/fontawesome.js.map",
    "_static/sphinx-thebe.js",
    "_static/sphinx-thebe.css",
    "_static/webpack-macros.html",
    "_static/sbt-webpack-macros.html",
]


def build_finished(app: Sphinx, exception) -> None:
    if exception or app.builder.format != "html":
        return
    out = Path(app.outdir)
    pages = [p for p in out.rglob("*.html") if not p.relative_to(out).as_posix().startswith("_static/")]
    fontawesome = out / "_static" / "scripts" / "fontawesome.js"
    if fontawesome.is_file():  # an incremental build keeps the icons.css of the last full one
        table = icon_table(fontawesome.read_text())
        (out / "_static" / "icons.css").write_text(icons_css(used_icons(pages), table))
    copy_katex_css(out)
    jobs, installs = [], []
    for job, install in [katex_fonts(out, app.env)] + ([icon_fonts(out)] if any((out / FONTS).glob("*.ttf")) else []):
        jobs += [job] if job else []
        installs.append(install)
    fonts_cut = cut_fonts(jobs, out.parent / ".font_jobs")  # in another process, while this one goes on
    written = [page for page in pages if page.relative_to(out).with_suffix("").as_posix() in WRITTEN]
    plain = plain_code_classes(out) if (out / "_static" / "pygments.css").is_file() else set()
    for page in written:  # the others were fixed and bundled when they were written
        html = size_images(page, fix_html(page.read_text(), search_page=page == out / "search.html"))
        page.write_text(unwrap_plain_tokens(html, plain))
    used = site_classes(pages, out)
    for page in written:
        page.write_text(bundle_css(page, page.read_text(), out, used))
    for name in UNUSED:
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    fonts_cut()
    for install in installs:
        install()


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", use_npm_katex)
    app.add_css_file("icons.css")
    app.add_css_file("reader.css")  # _static/reader.css: figures keep their proportions
    app.add_js_file("reader.js", defer="defer")  # _static/reader.js: the article's sidebar buttons
    app.connect("html-page-context", page_context)
    app.connect("builder-inited", memoize_katex)
    app.connect("doctree-read", render_math_ahead)
    app.connect("env-purge-doc", purge_katex_characters)
    app.connect("env-merge-info", merge_katex_characters)
    app.connect("build-finished", build_finished, priority=900)  # after the theme copies its files
    return {"parallel_read_safe": True, "parallel_write_safe": True}
