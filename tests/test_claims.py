"""Every sentence that states an outcome of a run is backed by a named build-time check.

The checks are calls to ``day08.claims.claim(chapter, name, sentence, holds)`` in hidden cells
(tag ``remove-cell``). This file lists them per chapter, so that adding or dropping one is a
visible change, checks where they sit, and checks that ``claim`` fails with a message naming
the chapter and the sentence.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT
from day08.claims import ClaimFailed, claim

from notebooks import read_chapter

CALL = re.compile(r'claim\(\s*"([^"]+)",\s*"([^"]+)",')

# The build-time checks of each chapter, by name (the sentence each backs is in the call).
EXPECTED = {
    "index": ["top-class-and-others"],
    "debrief-micrograd": [
        "closure-runs-later", "topo-children-first", "engines-agree", "grad-fn-mirrors-graph",
        "reuse-gradient", "graph-sizes", "loops-agree-and-fall", "no-reset-worse", "bug-hunt",
    ],
    "softmax": [
        "largest-score-largest-probability", "package-agrees", "k2-equals-sigmoid", "valid-at-every-scale",
        "most-round-to-0-or-1", "naive-gives-nan", "shift-changes-nothing", "stable-softmax-finite",
    ],
    "cross-entropy": [
        "three-forms-agree", "least-likely-costs-most", "gibbs", "onehot-cross-entropy-is-ce",
        "printed-form-ignores-label", "correct-form-tells-them-apart", "k2-is-binary-log-loss",
        "scores-lose-fewer-digits",
    ],
    "cross-entropy-further": [
        "gradient-formula", "mean-divides-by-n", "two-step-is-infinite", "tail-lost-when-added",
        "third-example-costs-most", "mean-is-sum-over-3", "smoothing-by-hand", "smoothing-rises",
        "temperature-same-order", "difference-only", "k2-any-scores", "markers-on-the-curve",
    ],
    "why-pytorch": [
        "autograd-matches-formula", "engines-agree", "graph-grows-with-operations", "momentum-and-adam-beat-sgd",
        "gap-stays-large", "gradcheck-passes",
    ],
    "training-loop": [
        "ce-by-hand", "initial-loss-above-log10", "zero-grad-oscillates", "test-above-train",
        "train-still-falling", "most-common-mistakes", "restored-model-identical",
    ],
    "training-exercises": [
        "mlp-beats-logistic-every-seed", "mlp-lower-test-loss", "mlp-slower-start", "slopes-small",
        "five-units-worst", "climbs-to-25", "flat-from-25", "mb-faster-per-epoch", "mb-100-beats-fb-2000", "mb-similar-accuracy",
        "mb-epoch-costs-more", "per-second-closer",
    ],
}  # fmt: skip


def checks_by_chapter() -> dict[str, list[tuple[str, str, bool]]]:
    """chapter -> [(chapter argument, check name, in a remove-cell cell)], in page order."""
    found = {}
    for path in sorted((ROOT / "book").glob("*.md")):
        if path.name.startswith("_"):
            continue
        for cell in read_chapter(path).cells:  # the cells as myst-nb reads them, with their tags
            for chapter, name in CALL.findall(cell.source if cell.cell_type == "code" else ""):
                found.setdefault(path.stem, []).append((chapter, name, "remove-cell" in cell.metadata.get("tags", [])))
    return found


def test_the_checks_per_chapter_are_the_listed_ones():
    found = {chapter: sorted(name for _, name, _ in calls) for chapter, calls in checks_by_chapter().items()}
    assert found == {chapter: sorted(names) for chapter, names in EXPECTED.items()}


@pytest.mark.parametrize("chapter", EXPECTED)
def test_each_check_names_its_own_chapter_is_unique_and_hidden(chapter):
    calls = checks_by_chapter()[chapter]
    assert all(arg == chapter for arg, _, _ in calls), f"{chapter}: a check names another chapter"
    names = [name for _, name, _ in calls]
    assert len(names) == len(set(names)), f"{chapter}: two checks share a name"
    assert all(hidden for _, _, hidden in calls), f"{chapter}: a check sits in a visible cell"


def test_a_claim_that_holds_is_silent():
    assert claim("softmax", "ok", "The probabilities sum to 1.", True) is None


def test_a_claim_that_fails_names_the_chapter_the_check_and_the_sentence():
    with pytest.raises(ClaimFailed) as info:
        claim("training-loop", "zero-grad-worse", "the loss is higher without zero_grad", False, "0.3 vs 0.2")
    message = str(info.value)
    for part in ("book/training-loop.md", "zero-grad-worse", "the loss is higher without zero_grad", "0.3 vs 0.2"):
        assert part in message


@pytest.mark.parametrize("bad", [("", "n", "s"), ("c", " ", "s"), ("c", "n", None)])
def test_a_claim_without_chapter_name_or_sentence_is_refused(bad):
    with pytest.raises(ValueError):
        claim(*bad, True)
