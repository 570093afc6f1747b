"""The built pages of the agenda, debrief, why-PyTorch and resources chapters.

Each test reads ``_build/html/book/<name>.html`` and checks what the reader is promised: the
numbers quoted in the prose (glued at build time) say what the prose says, figures have alt
text and captions, solutions are folded, and no cell printed a traceback it should not have.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup, NavigableString

CHAPTERS = ["agenda", "debrief-micrograd", "why-pytorch", "resources"]
SEED_TIMES = ["10:20", "10:25", "10:45", "11:05", "12:00"]


@pytest.fixture(scope="module")
def page(built_site):
    cache = {}

    def load(name: str) -> BeautifulSoup:
        if name not in cache:
            path = built_site / "book" / f"{name}.html"
            assert path.is_file(), f"{name} was not built: {path} is missing"
            cache[name] = BeautifulSoup(path.read_text(), "html.parser").select_one("article")
        return cache[name]

    return load


def glued_after(article, phrase: str, count: int = 1) -> list[str]:
    """The first ``count`` glued numbers (span.pasted-text) that follow ``phrase`` in a paragraph."""
    for p in article.find_all("p"):
        if phrase not in p.get_text():
            continue
        text, found = "", []
        for node in p.descendants:
            if isinstance(node, NavigableString):
                text += node
            elif phrase in text and "pasted-text" in node.get("class", []):
                found.append(node.get_text())
        assert len(found) >= count, f"fewer than {count} glued numbers after {phrase!r}: {found}"
        return found[:count]
    raise AssertionError(f"no paragraph contains {phrase!r}")


def test_agenda_table_has_the_seed_schedule_room_and_links(page):
    table = page("agenda").select_one("table")
    assert table is not None, "the agenda has no schedule table"
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in table.select("tbody tr")]
    times = " ".join(row[0] for row in rows)
    for t in SEED_TIMES:
        assert t in times, f"the schedule lacks the seed's time {t}"
    assert all(row[1] == "MAC128" for row in rows), "every activity is in room MAC128"
    links = {a["href"].split("#")[0] for a in table.select("a[href]")}
    assert {
        "debrief-micrograd.html",
        "softmax.html",
        "cross-entropy.html",
        "why-pytorch.html",
        "training-loop.html",
    } <= links


def test_debrief_gradients_match_torch_to_rounding(page):
    article = page("debrief-micrograd")
    (max_diff,) = glued_after(article, "largest difference between the two engines")
    assert float(max_diff) < 1e-12
    # the printed comparison beside it: micrograd and PyTorch columns agree digit for digit
    output = next(o.get_text() for o in article.select("div.cell_output") if "PyTorch grad" in o.get_text())
    rows = [line.split() for line in output.strip().splitlines()[1:]]
    assert [r[0] for r in rows] == ["x1", "x2", "w1", "w2", "b"]
    assert all(len(r) == 3 and r[1] == r[2] for r in rows), rows


def test_debrief_chain_rule_numbers_are_consistent(page):
    article = page("debrief-micrograd")
    local, dw1, dx1 = map(float, glued_after(article, "o^2 =", 3))
    assert dw1 == pytest.approx(local * 2.0, abs=1e-4)  # x1 = 2
    assert dx1 == pytest.approx(local * -3.0, abs=1e-4)  # w1 = -3
    (reuse,) = glued_after(article, "The engine gets")
    assert float(reuse) == 2 * 3 + 1


def test_debrief_loops_agree_and_the_loss_falls(page):
    article = page("debrief-micrograd")
    first, final, steps, w, b, loss_diff, param_diff = glued_after(article, "The loss falls from", 7)
    assert float(final) < float(first)
    assert int(steps) > 0
    assert float(loss_diff) < 1e-12 and float(param_diff) < 1e-12


def test_debrief_graph_figure_has_alt_text_and_caption(page):
    figure = page("debrief-micrograd").select_one("figure#fig-debrief-graph")
    assert figure is not None, "the computation-graph figure is missing"
    alt = figure.img.get("alt", "")
    assert len(alt) > 60 and "graph" in alt.lower()
    caption = figure.figcaption.get_text(" ", strip=True)
    assert "computation graph" in caption
    nodes, edges = (int(s.get_text()) for s in figure.figcaption.select("span.pasted-text")[:2])
    assert (nodes, edges) == (10, 9)  # x1 x2 w1 w2 b, two products, their sum, n, o


@pytest.mark.parametrize("name", ["debrief-micrograd", "why-pytorch"])
def test_every_figure_has_alt_text_and_a_caption(page, name):
    figures = page(name).select("figure")
    assert figures, f"{name} has no figures"
    for figure in figures:
        assert len(figure.img.get("alt", "")) > 30, f"{figure.get('id')} needs meaningful alt text"
        assert figure.figcaption and figure.figcaption.get_text(strip=True), f"{figure.get('id')} has no caption"


def test_why_pytorch_examples_report_what_the_prose_claims(page):
    article = page("why-pytorch")
    (formula_diff,) = glued_after(article, "Every entry of")
    assert float(formula_diff) < 1e-12
    micro_diff, micro_nodes, torch_nodes = glued_after(article, "Both engines agree", 3)
    assert float(micro_diff) < 1e-12
    assert int(micro_nodes) > 100 * int(torch_nodes)
    sgd, momentum, adam = map(float, glued_after(article, "plain SGD is still at", 3))
    assert momentum < sgd and adam < sgd
    shape, params = glued_after(article, "The output has shape", 2)
    assert shape == "(5, 10)" and int(params) == 75 * 32 + 10
    (passed,) = glued_after(article, "It returns")
    assert passed == "True"
    assert re.search(r"running on: (cpu|cuda)", article.get_text())


def test_resources_link_the_seeds_tutorials(page):
    hrefs = {a["href"] for a in page("resources").select("a.reference.external")}
    assert "https://pytorch.org/tutorials/" in hrefs
    assert "https://pytorch.org/tutorials/beginner/basics/tensorqs_tutorial.html" in hrefs
    assert all(h.startswith("https://") for h in hrefs)
    assert len(hrefs) >= 8


@pytest.mark.parametrize("name", ["debrief-micrograd", "why-pytorch"])
def test_solutions_are_folded_and_hold_their_code(page, name):
    solutions = page(name).select("div.solution")
    assert solutions, f"{name} has no solutions"
    for solution in solutions:
        assert "dropdown" in solution["class"], f"{solution.get('id')} is not folded"
    assert any(s.select("div.cell") for s in solutions), "the executed solution code sits inside its solution"


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_unintended_traceback_or_stderr(page, name):
    for cell in page(name).select("div.cell"):
        if "tag_raises-exception" in cell.get("class", []):
            continue
        text = cell.get_text()
        assert "Traceback (most recent call last)" not in text, f"{name}: a cell raised"
        assert not cell.select(".output.traceback, .output.stderr"), f"{name}: a cell wrote an error or warning"
