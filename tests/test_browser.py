"""The reader's experience, in a real browser: offline, accessible, mobile, dark mode.

Playwright drives Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM_PATH``) headless
against the built site, served by ``tools/site_server.py`` on 127.0.0.1. Every page of the
site is checked (the pages come from ``_toc.yml``, and a test checks that the build made
exactly those pages plus Sphinx's own search and index pages). Nothing here downloads a
browser: `make test` installs Debian's ``chromium`` package when it is missing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from conftest import ROOT, copy_book, run_build
from myst_nb.core.read import read_myst_markdown_notebook
from playwright import sync_api as playwright_api  # in requirements.txt: missing, the tests fail
from site_server import served
from sphinx_external_toc.parsing import parse_toc_yaml

from notebooks import is_executable

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


CHAPTERS = list(parse_toc_yaml(ROOT / "_toc.yml"))  # the reading order, as the build reads it
PAGES = [f"{doc}.html" for doc in CHAPTERS] + ["search.html", "genindex.html"]


def source(page: str) -> str:
    path = ROOT / page.replace(".html", ".md")
    return path.read_text() if path.is_file() else ""


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def site(built_site):
    """The base URL of the built site, served by tools/site_server.py (stopped by its PID)."""
    with served(built_site) as url:
        assert url.startswith("http://127.0.0.1:"), f"the site server did not start: {url!r}"
        yield url


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


# --------------------------------------------------------------------------- the checks
# Each takes an open Visit (and what it needs to know about the page's source) and asserts.


def check_offline(v):
    assert v.errors == [], "console errors"
    assert v.failed == [], "failed requests"
    assert v.foreign == [], "requests to hosts other than the site (the site must work offline)"


def check_axe(v, scheme):
    assert v.page.evaluate("document.documentElement.dataset.theme") == scheme
    assert v.axe() == [], f"axe-core violations in {scheme} mode"


def check_math(v, text):
    shown = v.page.inner_text("main")
    for raw in ("$$", "\\[", "\\(", "\\begin{", "\\frac", "\\mathbb"):
        assert raw not in shown, f"raw TeX {raw!r} is visible"
    math = v.page.evaluate("[...document.querySelectorAll('.math')].map(m => m.querySelector('.katex') !== null)")
    assert all(math), f"{math.count(False)} math element(s) not typeset"
    if re.search(r"\$[^$\s]|\{math\}", text):
        assert math, "the chapter has math but the page shows none"
    # Screen readers read the MathML copy of each formula (the HTML copy is aria-hidden): every
    # formula a reader can reach (not in a folded solution) must be math in the accessibility tree.
    reachable = v.page.evaluate(
        "[...document.querySelectorAll('.katex')].filter(k => k.checkVisibility({visibilityProperty: true, checkVisibilityCSS: true})).length"
    )
    tree = v.page.context.new_cdp_session(v.page).send("Accessibility.getFullAXTree")["nodes"]
    exposed = sum(1 for n in tree if not n.get("ignored") and n.get("role", {}).get("value") in ("math", "MathMLMath"))
    assert exposed == reachable, f"{reachable} formulas on the page, {exposed} in the accessibility tree"


def check_images(v, text):
    images = v.page.evaluate(
        """[...document.querySelectorAll('article.bd-article img')].map(i => ({
            src: i.getAttribute('src'), alt: i.getAttribute('alt'), ok: i.complete && i.naturalWidth > 0}))"""
    )
    for img in images:
        assert img["ok"], f"{img['src']} did not load"
        alt = (img["alt"] or "").strip()
        assert len(alt.split()) >= 3 and not re.search(r"\.(png|svg|jpe?g)$", alt, re.I), (
            f"{img['src']} has no meaningful alt text: {alt!r}"
        )
    assert len(images) >= len(re.findall(r"\{(?:glue:)?figure\}", text)), "a figure of the source is missing"


def check_code_cells(v, text):
    cells = re.findall(r"```\{code-cell\}[^\n]*\n((?::[^\n]*\n)*)", text)
    visible = [c for c in cells if not re.search(r"remove-(cell|input)", c)]
    assert v.page.locator("div.cell div.cell_input").count() >= len(visible), "a code cell is missing"
    tracebacks = v.page.locator("div.cell_output .output.traceback, div.cell_output .output.error").count()
    assert tracebacks <= text.count("raises-exception"), "a cell shows a traceback it was not tagged to show"
    for name in re.findall(r"\{glue:figure\} (\S+)", text):
        assert v.page.locator("figure img").count() >= 1, f"glued figure {name} is not on the page"


def check_phone(v):
    assert v.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scroll"
    for src, drawn, natural in v.page.evaluate(
        """[...document.querySelectorAll('article.bd-article img')].map(i => [i.getAttribute('src'),
            i.clientWidth / i.clientHeight, i.naturalWidth / i.naturalHeight])"""
    ):
        assert abs(drawn / natural - 1) < 0.05, f"{src} is distorted on a phone"
    modal = v.page.locator("dialog#pst-primary-sidebar-modal")
    toggle = v.page.locator("button.primary-toggle >> visible=true").first
    assert toggle.is_visible() and not modal.is_visible()
    toggle.click()
    modal.wait_for(state="visible", timeout=3000)
    assert modal.locator("a").first.is_visible(), "the navigation opened empty"
    v.page.keyboard.press("Escape")
    modal.wait_for(state="hidden", timeout=3000)


LUMINANCE = """(el) => {
  // The colour a reader sees behind a figure: its own pixel if opaque, otherwise the first
  // opaque background of the image or its ancestors. Relative luminance (WCAG), 0 to 1.
  const canvas = document.createElement('canvas');
  canvas.width = el.naturalWidth; canvas.height = el.naturalHeight;
  const ctx = canvas.getContext('2d'); ctx.drawImage(el, 0, 0);
  const [r, g, b, a] = ctx.getImageData(1, 1, 1, 1).data;
  let rgb = [r, g, b];
  if (a < 250) {
    rgb = null;
    for (let node = el; node && !rgb; node = node.parentElement) {
      const c = getComputedStyle(node).backgroundColor.match(/[\\d.]+/g).map(Number);
      if (c.length === 3 || c[3] > 0.9) rgb = c.slice(0, 3);
    }
    rgb = rgb || getComputedStyle(document.body).backgroundColor.match(/[\\d.]+/g).map(Number).slice(0, 3);
  }
  const lin = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}"""


def check_dark_figures(v):
    assert v.page.evaluate("document.documentElement.dataset.theme") == "dark"
    text, background = v.page.evaluate(
        "[getComputedStyle(document.querySelector('main')).color, getComputedStyle(document.body).backgroundColor]"
    )
    assert text != "rgb(0, 0, 0)" and background != "rgb(255, 255, 255)", "dark mode did not apply"
    for img in v.page.locator("article.bd-article img").all():
        luminance = img.evaluate(LUMINANCE)
        assert luminance > 0.6, f"{img.get_attribute('src')} sits on a dark backdrop (luminance {luminance:.2f})"


def check_folded_solutions(v):
    blocks = v.page.locator(".solution.dropdown, .exercise.dropdown")
    assert blocks.count() > 0, "the chapter has dropdown blocks but the page shows none"
    for i in range(blocks.count()):
        block = blocks.nth(i)
        body = block.locator("section, .admonition-title ~ *:not(button)").first
        assert not body.is_visible(), f"solution {i + 1} is not folded on load"
        block.locator(".admonition-title").first.click()
        body.wait_for(state="visible", timeout=3000)


def check_buttons(v, page, config, text):
    """Launch buttons on pages with code when the config has them; a download button that works."""
    hrefs = v.page.eval_on_selector_all(".article-header-buttons a[href]", "as => as.map(a => a.href)")
    stem = Path(page).stem
    repo = urlparse(config["repository"]["url"]).path.strip("/")
    branch = config["repository"].get("branch", "master")
    runnable = "{code-cell}" in text and is_executable(read_myst_markdown_notebook(text))  # visible code
    launch = (config.get("launch_buttons") or {}) if runnable else {}
    if launch.get("colab_url"):
        colab = [h for h in hrefs if h.startswith(launch["colab_url"].rstrip("/") + "/github/")]
        assert colab and colab[0].startswith(f"{launch['colab_url'].rstrip('/')}/github/{repo}/blob/{branch}/"), hrefs
        assert f"/{stem}." in colab[0], f"the Colab button does not open {stem}: {colab[0]}"
    if launch.get("binderhub_url"):
        binder = [h for h in hrefs if h.startswith(launch["binderhub_url"].rstrip("/") + "/v2/gh/")]
        assert binder and f"/v2/gh/{repo}/{branch}" in binder[0] and stem in binder[0], hrefs
    v.page.locator(".dropdown-download-buttons button.dropdown-toggle").click()
    links = v.page.locator(".dropdown-download-buttons a[href]")
    assert links.count() >= 1 and links.first.is_visible(), "no download button"
    for href in links.evaluate_all("as => as.map(a => a.href)"):
        assert v.page.request.get(href).ok, f"the download link {href} is broken"


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_offline_without_errors(visit, page):
    check_offline(visit(page))


VIEWS = {
    "light": {"color_scheme": "light"},
    "dark": {"color_scheme": "dark"},
    "phone": {"color_scheme": "light", "viewport": PHONE, "is_mobile": True, "has_touch": True},
}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("view", VIEWS)
def test_axe_finds_no_accessibility_violation(visit, page, view):
    check_axe(visit(page, **VIEWS[view]), VIEWS[view]["color_scheme"])


@pytest.mark.parametrize("page", PAGES)
def test_math_is_rendered_and_no_raw_tex_is_visible(visit, page):
    check_math(visit(page), source(page))


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads_and_has_meaningful_alt_text(visit, page):
    check_images(visit(page), source(page))


@pytest.mark.parametrize("page", [p for p in PAGES if "{code-cell}" in source(p)])
def test_code_cells_and_their_outputs_are_on_the_page(visit, page):
    check_code_cells(visit(page), source(page))


@pytest.mark.parametrize("page", PAGES)
def test_phone_size_has_no_horizontal_scroll_and_the_navigation_opens_and_closes(visit, page):
    check_phone(visit(page, viewport=PHONE, is_mobile=True, has_touch=True))


@pytest.mark.parametrize("page", PAGES)
def test_dark_mode_keeps_text_and_figures_readable(visit, page):
    check_dark_figures(visit(page, color_scheme="dark"))


FORMULAS = """() => [...document.querySelectorAll('.bd-article div.math')]
  .filter(box => box.checkVisibility())
  .map(box => {
    const column = box.closest('article').getBoundingClientRect();
    const rect = box.getBoundingClientRect();
    // the formula's own width: KaTeX's HTML rendering, which would overflow the box if nothing scrolled
    const drawn = Math.max(box.scrollWidth, ...[...box.querySelectorAll('.katex-html')].map(k => k.scrollWidth));
    return {text: box.textContent.trim().slice(0, 60), content: drawn, visible: box.clientWidth,
            overflow: getComputedStyle(box).overflowX, cue: box.classList.contains('math-scroll'),
            focusable: box.getAttribute('tabindex') === '0', inside: rect.right <= column.right + 1};
  })"""


def check_formulas_fit_or_scroll(v):
    """Every display formula fits its box, or scrolls sideways with a visible cue; no box leaves the column."""
    blocks = v.page.locator(".solution.dropdown .admonition-title, .exercise.dropdown .admonition-title")
    for i in range(blocks.count()):  # open every folded solution: its formulas count too
        blocks.nth(i).click()
    v.page.wait_for_timeout(300)  # the ResizeObserver in reader.js marks the formulas
    for f in v.page.evaluate(FORMULAS):
        assert f["inside"], f"the formula {f['text']!r} sticks out of the column"
        if f["content"] > f["visible"] + 1:
            assert f["overflow"] in ("auto", "scroll"), f"the formula {f['text']!r} is clipped: {f}"
            assert f["cue"] and f["focusable"], f"the wide formula {f['text']!r} scrolls without a visible cue: {f}"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_display_formula_is_clipped_at_phone_width(visit, page, scheme):
    check_formulas_fit_or_scroll(visit(page, color_scheme=scheme, viewport=PHONE, is_mobile=True, has_touch=True))


@pytest.mark.parametrize("page", [p for p in PAGES if ":class: dropdown" in source(p)])
def test_solutions_are_folded_on_load_and_open_on_click(visit, page):
    check_folded_solutions(visit(page))


@pytest.mark.parametrize("page", [f"{doc}.html" for doc in CHAPTERS])
def test_launch_and_download_buttons_point_where_the_config_says(visit, page):
    check_buttons(visit(page), page, CONFIG, source(page))


def test_search_finds_the_softmax_chapter(visit, built_site):
    expected = "book/softmax.html"
    title = re.search(r"<title>(.*?)</title>", (built_site / expected).read_text(), re.S).group(1)
    assert "softmax" in title.lower()
    v = visit("search.html?q=softmax")
    v.page.wait_for_selector("#search-results ul.search li", timeout=10000)
    found = v.page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    assert any(href.split("#")[0].endswith(expected) for href in found), found


def test_the_search_button_of_a_chapter_finds_softmax(visit):
    """Chapters do not load the search index (tools/lean_site.py, _templates/layout.html): the
    theme's search button must still take the reader to results."""
    v = visit("book/agenda.html")
    assert v.page.evaluate("typeof Search === 'undefined' && !document.querySelector('script[src*=searchindex]')")
    v.page.get_by_role("button", name=re.compile("search", re.I)).first.click()
    field = v.page.locator("input[name=q]:visible").first
    field.fill("softmax")
    field.press("Enter")
    v.page.wait_for_selector("#search-results ul.search li", timeout=10000)
    assert v.page.url.split("?")[0].endswith("/search.html") and v.errors == [], v.errors
    found = v.page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    assert any(href.split("#")[0].endswith("book/softmax.html") for href in found), found


# --------------------------------------------------------------------------- a chapter with everything
# A copy of the book gets one chapter with what the real ones have (exercises with folded
# solutions, aligned math, launch and repository buttons) and two things they do not: a formula
# wider than a phone, and a transparent figure. Every check above runs on it.

FIXTURE = r"""
(browser-check)=
# Exercises, math and figures

A chapter with what the real ones have, so the browser checks can see it.

$$
\begin{aligned}
\hat{y}_i &= \frac{e^{z_i}}{\sum_{j=1}^{K} e^{z_j}}, &
\frac{\partial L}{\partial z_i} &= \hat{y}_i - \mathbb{1}[y = i].
\end{aligned}
$$

```{math}
:label: eq-browser-check
L = -\log \hat{y}_y
```

A long one, wider than a phone:

$$
\log \sum_{j=1}^{K} e^{z_j} = m + \log \sum_{j=1}^{K} e^{z_j - m}, \quad m = \max_j z_j,
\quad \text{so } e^{z_1 - m} + e^{z_2 - m} + e^{z_3 - m} + e^{z_4 - m} + e^{z_5 - m} + e^{z_6 - m} \le K.
$$

```{code-cell} ipython3
import matplotlib.pyplot as plt
from myst_nb import glue

fig, ax = plt.subplots(figsize=(4, 2))
fig.patch.set_alpha(0)  # a transparent figure: black axes on whatever is behind it
ax.patch.set_alpha(0)
ax.plot([0, 1, 2], [2, 0, 1], color="black")
plt.close(fig)
glue("browser_check_fig", fig, display=False)
print("an output")
```

```{glue:figure} browser_check_fig
:alt: A black line that falls and then rises, drawn on a transparent background.
:name: fig-browser-check

A transparent figure must stay readable in dark mode.
```

## Exercises

```{exercise}
:label: ex-browser-check

What is $\hat{y}_i$ when all scores are equal?
```

```{solution} ex-browser-check
:class: dropdown

Each is $1/K$: the exponentials are equal, so each is one $K$-th of their sum.
```
"""


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory, built_site):
    """A copy of the book with the fixture chapter, built and served; and the book's configuration."""
    root = copy_book(tmp_path_factory.mktemp("browser") / "book")
    front = (root / "book" / "index.md").read_text().split("\n---\n", 1)[0] + "\n---\n"
    (root / "book" / "browser-check.md").write_text(front + FIXTURE)
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    toc["chapters"].append({"file": "book/browser-check"})
    (root / "_toc.yml").write_text(yaml.safe_dump(toc))
    config = yaml.safe_load((root / "_config.yml").read_text())
    result = run_build(root)
    assert result.returncode == 0, result.stdout + result.stderr
    with served(root / "_build" / "html") as url:
        yield url, config


def check_the_wide_formula_scrolls_with_a_cue(v):
    """The fixture's formula wider than a phone scrolls, marked, focusable, and passes the general check."""
    check_formulas_fit_or_scroll(v)
    wide = [f for f in v.page.evaluate(FORMULAS) if f["content"] > f["visible"] + 1]
    assert wide, "the fixture's long formula should be wider than a phone's column"
    assert all(f["cue"] and f["focusable"] and f["overflow"] == "auto" for f in wide), wide
    cue = v.page.evaluate("getComputedStyle(document.querySelector('div.math.math-scroll')).borderBottomStyle")
    assert cue == "dashed", "the scroll cue (a dashed rule under the formula) is not drawn"


@pytest.mark.build
def test_a_chapter_with_exercises_math_and_a_figure_passes_every_check(browser, fixture_site):
    url, config = fixture_site
    page, text = "book/browser-check.html", FIXTURE

    def open_page(**context):
        return Visit(browser, url, page, **context)

    for v, check in [
        (open_page(), lambda v: (check_offline(v), check_math(v, text), check_images(v, text),
                                 check_code_cells(v, text), check_buttons(v, page, config, text))),
        (open_page(color_scheme="light"), lambda v: check_axe(v, "light")),
        (open_page(color_scheme="dark"), lambda v: (check_axe(v, "dark"), check_dark_figures(v))),
        (open_page(**VIEWS["phone"]), lambda v: (check_axe(v, "light"), check_phone(v))),
        (open_page(**VIEWS["phone"]), check_the_wide_formula_scrolls_with_a_cue),
        (open_page(color_scheme="dark", viewport=PHONE), lambda v: (check_the_wide_formula_scrolls_with_a_cue(v),
                                                                   check_axe(v, "dark"))),
        (open_page(), check_folded_solutions),
    ]:  # fmt: skip
        try:
            check(v)
        finally:
            v.close()
