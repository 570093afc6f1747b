"""The built chapters "Softmax", "Cross-entropy" and their optional "Going further" page: glued numbers, figures, exercises, outputs."""

from __future__ import annotations

import math
import re

import pytest
from bs4 import BeautifulSoup

PAGES = ["book/softmax.html", "book/cross-entropy.html", "book/cross-entropy-further.html"]


@pytest.fixture(scope="module")
def soup(built_site):
    """The three pages' articles in one document, in reading order."""
    parts = [BeautifulSoup((built_site / p).read_text(encoding="utf-8"), "html.parser") for p in PAGES]
    first = parts[0]
    for other in parts[1:]:
        first.select_one("article").append(other.select_one("article"))
    return first


@pytest.fixture(scope="module")
def text(soup):
    """The article's prose, glued numbers included, with whitespace collapsed."""
    words = " ".join(soup.select_one("article").get_text(" ").split())
    return re.sub(r" ([,.;:)])", r"\1", words)  # get_text(" ") spaces out punctuation after a glued span


def number_after(text: str, words: str) -> float:
    """The first number that follows ``words`` in the page's text."""
    found = re.search(re.escape(words) + r"\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)", text)
    assert found, f"the page no longer says {words!r} followed by a number"
    return float(found.group(1))


def test_every_glued_value_was_filled_in(soup):
    pasted = soup.select("span.pasted-text")
    assert len(pasted) >= 25
    assert all(span.get_text().strip() for span in pasted)
    assert "{glue" not in soup.get_text()


def test_worked_example_numbers_are_the_softmax_of_the_scores(text):
    exps = [math.exp(v) for v in (2.0, 1.0, 0.1)]
    assert number_after(text, "The exponentials are") == pytest.approx(exps[0], abs=5e-4)
    assert number_after(text, "their sum is") == pytest.approx(sum(exps), abs=5e-4)
    assert number_after(text, "Dividing gives probabilities") == pytest.approx(exps[0] / sum(exps), abs=5e-4)
    assert number_after(text, "which add up to") == pytest.approx(1.0, abs=5e-4)


def test_softmax_with_two_classes_matches_the_sigmoid_on_the_page(text):
    assert number_after(text, "Over") == 601
    assert number_after(text, "between softmax and sigmoid is") < 1e-6


def test_probabilities_sum_to_one_on_the_page(text):
    assert number_after(text, "every row sums to 1 within") < 1e-5


def test_the_printed_formula_demo_shows_it_ignores_the_label(text):
    right = number_after(text, "The printed form gives both predictions the same value,")
    wrong = number_after(text, f"{right:.3f} and")
    assert right == wrong < 0
    assert number_after(text, "gives the right prediction") == pytest.approx(-math.log(0.98), abs=5e-4)
    assert number_after(text, "and the wrong one") == pytest.approx(-math.log(0.01), abs=5e-4)


def test_cross_entropy_with_two_classes_matches_the_binary_log_loss_on_the_page(text):
    assert number_after(text, "the two losses differ by at most") < 1e-6


def test_autograd_agrees_with_the_derived_gradient_on_the_page(text):
    assert number_after(text, "entries the largest difference is") < 1e-10


def test_stability_numbers_on_the_page(text):
    assert number_after(text, "changes the probabilities by at most") < 1e-10
    assert number_after(text, "PyTorch gets the right answer,") == pytest.approx(200.0)


def test_reduction_and_label_smoothing_numbers_on_the_page(text):
    mean = number_after(text, "the mean,")
    assert 0 < mean < number_after(text, "contributes most (")
    assert number_after(text, "rises from") == pytest.approx(mean)
    assert number_after(text, f"rises from {mean:.3f} to") > mean


def test_scaling_the_scores_sharpens_softmax_in_the_caption(text):
    flat = number_after(text, "The top class gets")
    plain = number_after(text, f"gets {flat:.2f},")
    sharp = number_after(text, f"{plain:.2f} and")
    assert 1 / 5 < flat < plain < sharp <= 1


def test_figures_have_alt_text_and_a_caption(soup):
    figures = soup.select("article figure")
    assert len(figures) == 2
    for figure in figures:
        img = figure.find("img")
        assert img is not None and len(img.get("alt", "").split()) >= 10, f"{figure.get('id')} needs alt text"
        caption = figure.select_one("figcaption .caption-text")
        assert caption is not None and len(caption.get_text().split()) >= 10, f"{figure.get('id')} needs a caption"


def test_each_exercise_has_a_folded_solution(soup):
    exercises = soup.select("div.exercise")
    solutions = soup.select("div.solution")
    assert len(exercises) == 3 and len(solutions) == 3
    assert all("dropdown" in s["class"] for s in solutions), "solutions must be folded by default"
    linked = [s.select_one("p.admonition-title a")["href"] for s in solutions]
    assert linked == [f"#{e['id']}" for e in exercises]


def test_the_solutions_pass_their_checks(soup):
    outputs = [s.get_text() for s in soup.select("div.solution div.cell_output")]
    assert sum("All checks passed" in o for o in outputs) == 2


def test_a_failing_self_check_shows_its_message_and_no_traceback(soup):
    assert not soup.select("div.output.traceback"), "a cell shows a traceback"
    outputs = [o.get_text() for o in soup.select("div.cell_output")]
    assert any(o.strip().startswith("check_softmax failed on huge scores") for o in outputs)
    assert not soup.select("div.output.stderr"), "a cell printed to stderr (a warning?)"
