"""tools/lean_site.py: the Pygments spans it removes are exactly the ones nobody can see."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import lean_site
import pytest

PYGMENTS = """
pre { line-height: 125%; }
html[data-theme="light"] .highlight { background: #fefefe; color: #080808 }
html[data-theme="light"] .highlight .n { color: #080808 } /* Name */
html[data-theme="light"] .highlight .p { color: #080808 } /* Punctuation */
html[data-theme="light"] .highlight .k { color: #080808; font-weight: bold } /* Keyword */
html[data-theme="light"] .highlight .o { color: #00622F } /* Operator */
html[data-theme="light"] .highlight .s { color: #080808 } /* String */
html[data-theme="light"] .highlight .nb { color: #080808 } /* Name.Builtin */
html[data-theme="dark"] .highlight { background: #2b2b2b; color: #F8F8F2 }
html[data-theme="dark"] .highlight .n { color: #F8F8F2 } /* Name */
html[data-theme="dark"] .highlight .p { color: #f8f8f2 } /* Punctuation */
html[data-theme="dark"] .highlight .k { color: #F8F8F2 } /* Keyword */
html[data-theme="dark"] .highlight .o { color: #ABE338 } /* Operator */
html[data-theme="dark"] .highlight .s { color: #ABE338 } /* String */
html[data-theme="dark"] .highlight .nb { color: #F8F8F2 } /* Name.Builtin */
"""


@pytest.fixture
def static(tmp_path):
    folder = tmp_path / "_static"
    folder.mkdir()
    (folder / "pygments.css").write_text(PYGMENTS)
    (folder / "theme.css").write_text(
        ".sig-param .n { color: red }\n"  # API signatures, not code blocks: does not count
        "/* .highlight .p in a comment does not count either */\n"
        "div.highlight pre .nb { text-decoration: underline }\n"  # a code-block rule for nb
    )
    return tmp_path


def test_plain_classes_are_those_drawn_like_the_code_around_them_in_every_theme(static):
    # n and p: the code colour in both themes (colours compared without case).
    # k is bold in light, s is coloured in dark, o is coloured in both, nb has a code-block rule elsewhere.
    assert lean_site.plain_code_classes(static) == {"n", "p"}


def test_without_colour_themes_nothing_is_plain(tmp_path):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "pygments.css").write_text(".highlight .n { color: #000 }\n")
    assert lean_site.plain_code_classes(tmp_path) == set()


BLOCK = '<div class="highlight"><pre><span></span><span class="n">x</span> <span class="o">=</span> <span class="n">f</span><span class="p">(</span><span class="s">&quot;a&lt;b&quot;</span><span class="p">)</span>\n</pre></div>'


def test_unwrapping_keeps_the_text_and_the_visible_spans():
    html = f'<p><span class="n">prose keeps its spans</span></p>{BLOCK}'
    out = lean_site.unwrap_plain_tokens(html, {"n", "p"})
    assert out.startswith('<p><span class="n">prose keeps its spans</span></p>')
    block = out[out.index("<pre>") :]
    assert 'class="n"' not in block and 'class="p"' not in block
    assert '<span class="o">=</span>' in block and '<span class="s">&quot;a&lt;b&quot;</span>' in block
    assert unescape(re.sub(r"<[^>]+>", "", block)) == 'x = f("a<b")\n'
    assert lean_site.unwrap_plain_tokens(html, set()) == html


def test_the_built_pages_carry_no_invisible_token_spans(built_site):
    plain = lean_site.plain_code_classes(built_site)
    assert {"n", "p"} <= plain, "the theme's Pygments styles changed: check plain_code_classes"
    page = (built_site / "book" / "cross-entropy.html").read_text()
    blocks = re.findall(r'<div class="highlight"><pre>(.*?)</pre>', page, flags=re.S)
    assert blocks, "no code blocks on the cross-entropy chapter"
    spans = {c for block in blocks for c in re.findall(r'<span class="([^"]+)">', block)}
    assert not spans & plain, f"invisible spans left: {spans & plain}"
    assert "o" in spans, "operators lost their colour"


class KatexText(HTMLParser):
    """The characters inside the built pages' ``.katex-html``: what KaTeX's fonts must draw."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth, self.chars = 0, set()

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag not in self.VOID
        elif "katex-html" in (dict(attrs).get("class") or "").split():
            self.depth = 1

    def handle_endtag(self, tag):
        self.depth -= bool(self.depth)

    def handle_data(self, data):
        if self.depth:
            self.chars.update(data)


def test_the_cut_down_katex_fonts_keep_every_character_the_formulas_draw(built_site):
    from fontTools.ttLib import TTFont

    parser = KatexText()  # read from the pages, independently of how lean_site collects them
    for page in built_site.rglob("*.html"):
        if "_static" not in page.parts:
            parser.feed(page.read_text())
    chars = {ord(c) for c in parser.chars}
    assert {ord("k"), ord("∑"), ord("=")} <= chars, "the site's formulas are missing from the pages"
    shipped = sorted((built_site / "_static" / "katex" / "fonts").glob("*.woff"))
    assert len(shipped) == len(list((lean_site.KATEX / "fonts").glob("*.ttf")))
    css = (built_site / "_static" / "katex" / "katex.min.css").read_text()
    assert {f.name for f in shipped} == set(re.findall(r"url\(fonts/([^)]+)\)", css)), "the CSS and the fonts disagree"
    for font in shipped:
        original = TTFont(lean_site.KATEX / "fonts" / font.with_suffix(".ttf").name).getBestCmap()
        cut = TTFont(font).getBestCmap()
        assert chars & original.keys() <= cut.keys(), f"{font.name} lost {chars & original.keys() - cut.keys()}"
        assert len(cut) < len(original), f"{font.name} was not cut down"
