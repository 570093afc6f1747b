"""The chapter "The annotated training loop" as built: its glued numbers, an outside reference, determinism.

The glued values are read from the executed notebook that the build stored in jupyter-cache
(the same outputs Sphinx rendered), and checked against the page's text.
"""

from __future__ import annotations

import html
import os
import re

import jupytext
import pytest
from conftest import ROOT
from nbclient import NotebookClient
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.model_selection import train_test_split

CHAPTER = ROOT / "book" / "training-loop.md"
EXERCISES = ROOT / "book" / "training-exercises.md"
PLAIN = "application/papermill.record/text/plain"


def glued(nb) -> dict[str, str]:
    """Every text value a notebook glued, by name (figures are left out)."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name and not any(mime.endswith("image/png") for mime in out.get("data", {})):
                values[name] = out["data"][PLAIN]
    return values


def cached_glue(chapter) -> dict[str, str]:
    from jupyter_cache import get_cache

    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    records = [r for r in cache.list_cache_records() if r.uri == str(chapter)]
    assert records, f"{chapter.name} is not in the execution cache: build the book"
    newest = max(records, key=lambda r: r.created)
    return glued(cache.get_cache_bundle(newest.pk).nb)


def page_text(site, name) -> str:
    page = (site / "book" / f"{name}.html").read_text(encoding="utf8")
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def number(value: str) -> float:
    return float(value.strip("'\"").replace(",", ""))


@pytest.fixture(scope="module")
def chapter(built_site):
    return cached_glue(CHAPTER), page_text(built_site, "training-loop")


def test_the_split_sizes_and_parameter_count_on_the_page(chapter):
    values, text = chapter
    assert number(values["tl_n_total"]) == 1797
    assert number(values["tl_n_train"]) == 1257 and number(values["tl_n_test"]) == 540
    assert number(values["tl_num_params"]) == 650
    assert "That gives 1,257 training and 540 test examples" in text
    assert "The model has 650 parameters" in text


def test_cross_entropy_identity_holds_and_initial_loss_is_stated(chapter):
    values, text = chapter
    assert number(values["tl_ce_gap"]) < 1e-5
    assert f"The untrained model’s loss, {number(values['tl_initial_loss']):.2f}" in text
    assert number(values["tl_initial_loss"]) > 2.31  # the page says: far above log 10


def test_forgetting_zero_grad_trains_worse(chapter):
    values, text = chapter
    with_zero, without = number(values["tl_with_zero"]), number(values["tl_without_zero"])
    assert with_zero < without
    assert f"the loss is {with_zero:.3f} with zero_grad and {without:.3f} without" in text


def test_final_numbers_are_consistent_and_on_the_page(chapter):
    values, text = chapter
    acc, wrong = number(values["tl_final_test_acc"]), number(values["tl_n_wrong"])
    assert round(540 * (1 - acc / 100)) == wrong
    train_loss, test_loss = number(values["tl_final_train_loss"]), number(values["tl_final_test_loss"])
    assert train_loss < test_loss  # the page says the test loss stays above the training loss
    assert f"the training loss is {train_loss:.3f}, the test loss {test_loss:.3f}" in text
    assert f"classifies {acc:.1f}% of the test digits correctly: it gets {int(wrong)} of the 540 wrong" in text
    pairs = values["tl_confused_pairs"].strip("'\"")
    assert f"made {values['tl_confused_n']} times, is shared by {values['tl_confused_count']} pair(s)" in text
    assert pairs in text and pairs.count("a true") == int(number(values["tl_confused_count"]))


def test_accuracy_is_within_3_points_of_scikit_learns_logistic_regression(chapter):
    """An outside reference: the same model family fitted by scikit-learn (L-BFGS) on the same split."""
    values, _ = chapter
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=42)
    reference = 100 * SklearnLogisticRegression(max_iter=5000).fit(X_train, y_train).score(X_test, y_test)
    ours = number(values["tl_final_test_acc"])
    assert abs(ours - reference) <= 3.0, f"chapter {ours:.1f}% vs scikit-learn {reference:.1f}%"


def test_exercises_claims_hold(built_site):
    values, text = cached_glue(EXERCISES), page_text(built_site, "training-exercises")
    assert number(values["ex_mlp_acc_min"]) > number(values["ex_lr_acc_max"]), (
        "the MLP beats logistic regression on every seed"
    )
    assert number(values["ex_mean_slope"]) < 0.25
    assert number(values["ex_mb_loss_10"]) < number(values["ex_fb_loss_100"])
    assert number(values["ex_mb_final_loss"]) < number(values["ex_fb_final_loss"])
    assert number(values["ex_mb_epoch_ms"]) > number(values["ex_fb_epoch_ms"])
    assert text.count("All checks passed") == 2


def execute(path) -> dict[str, str]:
    nb = jupytext.read(path)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "code" / "src"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute(
        env=env, cwd=str(path.parent)
    )
    return glued(nb)


@pytest.mark.build  # executes the chapter twice: make test, not make check
def test_two_executions_glue_identical_numbers():
    first, second = execute(CHAPTER), execute(CHAPTER)
    assert first.keys() == second.keys() and len(first) >= 15
    assert first == second
