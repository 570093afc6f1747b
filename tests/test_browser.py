"""The reader's experience, in a real browser: offline, accessible, mobile, dark mode.

Playwright drives Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM_PATH``) headless
against the built site, served by ``tools/site_server.py`` on 127.0.0.1. Every page of the
site is checked (the pages come from ``_toc.yml``, and a test checks that the build made
exactly those pages plus Sphinx's own search and index pages). Nothing here downloads a
browser: `make test` installs Debian's ``chromium`` package when it is missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from conftest import ROOT

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.txt")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def toc_docnames(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        found += [node[k] for k in ("root", "file") if k in node]
        for value in node.values():
            if isinstance(value, (list, dict)):
                found += toc_docnames(value)
    elif isinstance(node, list):
        for item in node:
            found += toc_docnames(item)
    return found


CHAPTERS = toc_docnames(yaml.safe_load((ROOT / "_toc.yml").read_text()))
PAGES = [f"{doc}.html" for doc in CHAPTERS] + ["search.html", "genindex.html"]


def source(page: str) -> str:
    path = ROOT / page.replace(".html", ".md")
    return path.read_text() if path.is_file() else ""


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def site(built_site):
    """The base URL of the built site, served by tools/site_server.py (stopped by its PID)."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "site_server.py"), "--dir", str(built_site)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"the site server did not start: {url!r}"
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install Debian's package: "
            "`sudo apt-get update && sudo apt-get install -y chromium` (or run `make test`, which "
            "does it when root), or set CHROMIUM_PATH to a Chrome/Chromium binary.",
            pytrace=False,
        )
    if not AXE.is_file():
        pytest.fail("node_modules/axe-core is missing: run `npm ci` (or `make test`, which does it)", pytrace=False)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


class Visit:
    """One page opened in a fresh context, with everything the reader's browser saw recorded."""

    def __init__(self, browser, site, page, **context):
        self.site = site
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.errors, self.failed, self.foreign = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} (HTTP {r.status})"))
        self.page.on("request", self._request)
        self.page.goto(site + page, wait_until="networkidle")

    def _request(self, request):
        host = urlparse(request.url).netloc
        if request.url.startswith(("data:", "blob:", "about:")) or host == urlparse(self.site).netloc:
            return
        self.foreign.append(request.url)

    def axe(self) -> list[str]:
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        return [
            f"{v['impact']}: {v['id']}: {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"]
        ]

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, site):
    opened = []

    def open_page(page, **context):
        opened.append(Visit(browser, site, page, **context))
        return opened[-1]

    yield open_page
    for v in opened:
        v.close()


# --------------------------------------------------------------------------- the whole site


def test_the_site_has_exactly_the_pages_in_the_toc(built_site):
    built = {
        p.relative_to(built_site).as_posix()
        for p in built_site.rglob("*.html")
        if "http-equiv=\"Refresh\"" not in p.read_text()[:500]  # the root redirect to the landing page
    }
    assert built == set(PAGES)


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_offline_without_errors(visit, page):
    v = visit(page)
    assert v.errors == [], "console errors"
    assert v.failed == [], "failed requests"
    assert v.foreign == [], "requests to hosts other than the site (the site must work offline)"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_accessibility_violation(visit, page, scheme):
    v = visit(page, color_scheme=scheme)
    assert v.page.evaluate("document.documentElement.dataset.theme") == scheme
    assert v.axe() == []


@pytest.mark.parametrize("page", PAGES)
def test_math_is_rendered_and_no_raw_tex_is_visible(visit, page):
    v = visit(page)
    text = v.page.inner_text("main")
    for raw in ("$$", "\\[", "\\(", "\\begin{", "\\frac", "\\mathbb"):
        assert raw not in text, f"raw TeX {raw!r} is visible"
    math = v.page.evaluate(
        "[...document.querySelectorAll('.math')].map(m => m.querySelector('.katex') !== null)"
    )
    assert all(math), f"{math.count(False)} math element(s) not typeset"
    if re.search(r"\$[^$\s]", source(page)):
        assert math, "the chapter has math but the page shows none"


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads_and_has_meaningful_alt_text(visit, page):
    v = visit(page)
    images = v.page.evaluate(
        """[...document.querySelectorAll('main img')].map(i => ({
            src: i.getAttribute('src'), alt: i.getAttribute('alt'),
            ok: i.complete && i.naturalWidth > 0}))"""
    )
    for img in images:
        assert img["ok"], f"{img['src']} did not load"
        alt = (img["alt"] or "").strip()
        assert len(alt.split()) >= 3 and not re.search(r"\.(png|svg|jpe?g)$|^(image|figure|png)$", alt, re.I), (
            f"{img['src']} has no meaningful alt text: {alt!r}"
        )
    glued_figures = source(page).count("{glue:figure}") + source(page).count("{figure}")
    assert len(images) >= glued_figures


@pytest.mark.parametrize("page", [p for p in PAGES if "{code-cell}" in source(p)])
def test_code_cells_and_their_outputs_are_on_the_page(visit, page):
    v = visit(page)
    text = source(page)
    cells = re.findall(r"```\{code-cell\}[^\n]*\n((?::[^\n]*\n)*)", text)
    visible = [c for c in cells if not re.search(r"remove-(cell|input)", c)]
    assert v.page.locator("div.cell div.cell_input").count() >= len(visible)
    errors = v.page.locator("div.cell_output .output.traceback, div.cell_output .output.error").count()
    expected_errors = len(re.findall(r"raises-exception", text))
    assert errors <= expected_errors, "a cell shows a traceback it was not tagged to show"
    for figure in re.findall(r"\{glue:figure\} (\S+)", text):
        assert v.page.locator(f"figure#{figure} img, #{figure} img, figure img").count() >= 1


@pytest.mark.parametrize("page", PAGES)
def test_phone_size_has_no_horizontal_scroll_and_the_navigation_opens_and_closes(visit, page):
    v = visit(page, viewport=PHONE, is_mobile=True, has_touch=True)
    assert v.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scroll"
    sidebar = v.page.locator("#pst-primary-sidebar")
    toggle = v.page.locator("button.primary-toggle >> visible=true").first
    assert toggle.is_visible() and not sidebar.is_visible()
    toggle.click()
    v.page.wait_for_timeout(400)
    assert v.page.locator("dialog#pst-primary-sidebar-modal").is_visible(), "the navigation did not open"
    v.page.keyboard.press("Escape")
    v.page.wait_for_timeout(400)
    assert not v.page.locator("dialog#pst-primary-sidebar-modal").is_visible(), "the navigation did not close"


LUMINANCE = """(el) => {
  // The colour a reader sees behind a figure: its own opaque pixels if it has them,
  // otherwise the first opaque background among its ancestors.
  const canvas = document.createElement('canvas');
  canvas.width = el.naturalWidth; canvas.height = el.naturalHeight;
  const ctx = canvas.getContext('2d'); ctx.drawImage(el, 0, 0);
  const [r, g, b, a] = ctx.getImageData(1, 1, 1, 1).data;
  let rgb = [r, g, b];
  if (a < 250) {
    let node = el;
    while (node) {
      const c = getComputedStyle(node).backgroundColor.match(/[\\d.]+/g).map(Number);
      if (c.length === 3 || c[3] > 0.9) { rgb = c.slice(0, 3); break; }
      node = node.parentElement;
    }
    if (!node) rgb = getComputedStyle(document.body).backgroundColor.match(/[\\d.]+/g).map(Number).slice(0, 3);
  }
  const lin = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}"""


@pytest.mark.parametrize("page", PAGES)
def test_dark_mode_keeps_figures_on_a_light_backdrop(visit, page):
    v = visit(page, color_scheme="dark")
    assert v.page.evaluate("document.documentElement.dataset.theme") == "dark"
    body = v.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert body != "rgb(255, 255, 255)", "dark mode did not apply"
    for img in v.page.locator("main img").all():
        luminance = img.evaluate(LUMINANCE)
        assert luminance > 0.6, f"{img.get_attribute('src')} sits on a dark backdrop ({luminance:.2f})"


# --------------------------------------------------------------------------- features


def dropdown_solutions(page):
    return page.locator(".solution.dropdown, .exercise.dropdown")


@pytest.mark.parametrize("page", [p for p in PAGES if ":class: dropdown" in source(p)])
def test_solutions_are_folded_on_load_and_open_on_click(visit, page):
    check_folded_solutions(visit(page).page)


def check_folded_solutions(page):
    blocks = dropdown_solutions(page)
    assert blocks.count() > 0, "the chapter has dropdown blocks but the page shows none"
    for i in range(blocks.count()):
        block = blocks.nth(i)
        body = block.locator("section, .admonition-title ~ *").first
        assert not body.is_visible(), f"solution {i + 1} is not folded on load"
        block.locator(".admonition-title, button.toggle-button").first.click()
        body.wait_for(state="visible", timeout=3000)


def launch_config():
    return CONFIG.get("launch_buttons") or {}


@pytest.mark.parametrize("page", [f"{doc}.html" for doc in CHAPTERS if "{code-cell}" in source(f"{doc}.html")])
def test_launch_and_download_buttons_point_where_the_config_says(visit, page):
    v = visit(page)
    hrefs = v.page.eval_on_selector_all(".article-header-buttons a[href]", "as => as.map(a => a.href)")
    doc = page.removesuffix(".html")
    repo = urlparse(CONFIG["repository"]["url"]).path.strip("/")
    branch = CONFIG["repository"].get("branch", "master")
    launch = launch_config()
    if launch.get("colab_url"):
        colab = [h for h in hrefs if h.startswith(launch["colab_url"].rstrip("/") + "/github/")]
        assert colab and f"/github/{repo}/blob/{branch}/" in colab[0] and doc in colab[0], hrefs
    if launch.get("binderhub_url"):
        binder = [h for h in hrefs if h.startswith(launch["binderhub_url"].rstrip("/") + "/v2/gh/")]
        assert binder and f"/v2/gh/{repo}/{branch}" in binder[0] and doc in binder[0], hrefs
    downloads = [h for h in hrefs if "/_sources/" in h]
    assert downloads, f"no download button on {page}: {hrefs}"
    for href in downloads:
        assert v.page.request.get(href).ok, f"the download link {href} is broken"


def test_search_finds_the_softmax_chapter(visit, built_site):
    titles = {
        page: re.search(r"<title>(.*?)</title>", (built_site / page).read_text(), re.S).group(1)
        for page in PAGES[: len(CHAPTERS)]
    }
    chapter = "book/softmax-cross-entropy.html"
    expected = chapter if (ROOT / "book" / "softmax-cross-entropy.md").is_file() else "book/index.html"
    assert "softmax" in titles[expected].lower()
    v = visit("search.html?q=softmax")
    v.page.wait_for_selector("#search-results ul.search li", timeout=10000)
    found = v.page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    assert any(expected in href for href in found), found
