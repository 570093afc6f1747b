"""The chapter's exercise checks pass right answers and catch the usual wrong ones, in words."""

from __future__ import annotations

import pytest
import torch
from day08.checks import CheckFailed, check_cross_entropy, check_softmax
from day08.functional import cross_entropy, log_softmax, naive_softmax, softmax


def test_check_softmax_passes_the_package_and_a_plain_correct_answer(capsys):
    def subtract_max(s):
        e = torch.exp(s - s.max(dim=-1, keepdim=True).values)
        return e / e.sum(dim=-1, keepdim=True)

    for fn in (softmax, subtract_max, lambda s: torch.softmax(s, dim=-1)):
        check_softmax(fn)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["All checks passed: your softmax matches torch.softmax, even for huge scores."] * 3


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        # forgets to subtract the max: e^1000 overflows to inf, inf / inf = nan
        (
            naive_softmax,
            r"failed on huge scores: scores = \[1000\.0, 0\.0, -1000\.0\]\. "
            r"Expected \[1\.0, 0\.0, 0\.0\], but your function returned \[nan, 0\.0, 0\.0\] \(nan or inf\)",
        ),
        # normalises over the whole tensor instead of each row
        (lambda s: torch.exp(s - s.max()) / torch.exp(s - s.max()).sum(), r"failed on a batch of 5 examples"),
        # softmax over the wrong axis of a batch
        (
            lambda s: torch.softmax(s, dim=0),
            r"failed on a batch of 5 examples with 4 classes \(one row each\): "
            r"scores = \[\[-3\.5676, 4\.1797, .*\]\]\. Expected \[\[0\.0, 0\.1054, ",
        ),
        # forgets to divide by the sum
        (lambda s: torch.exp(s - s.max(dim=-1, keepdim=True).values), r"failed on one example.*different numbers"),
        # returns one probability too few
        (lambda s: torch.softmax(s, dim=-1)[..., :-1], r"shape \(2,\) where \(3,\) was expected"),
        # not a tensor at all
        (lambda s: "probabilities", r"expected a tensor, but your function returned 'probabilities'"),
        # crashes
        (
            lambda s: s.softmax(),
            r"failed on one example: scores = \[2\.0, 1\.0, 0\.1\]; your function raised TypeError",
        ),
    ],
    ids=[
        "no-max-subtraction",
        "whole-tensor-sum",
        "wrong-axis",
        "no-division",
        "wrong-shape",
        "not-a-tensor",
        "raises",
    ],
)
def test_check_softmax_names_the_first_failing_input(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_softmax(wrong)


def test_check_cross_entropy_passes_the_package_and_a_plain_correct_answer(capsys):
    def by_hand(s, y):
        return -log_softmax(s)[torch.arange(len(y)), y].mean()

    for fn in (cross_entropy, by_hand, torch.nn.functional.cross_entropy):
        check_cross_entropy(fn)
    out = capsys.readouterr().out.splitlines()
    assert (
        out
        == ["All checks passed: your cross-entropy matches torch.nn.functional.cross_entropy, even for huge scores."]
        * 3
    )


def pick(s, y):
    return log_softmax(s).gather(1, y.unsqueeze(1)).squeeze(1)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        # the sign error: +log y_hat_y is negative, so it "rewards" the wrong thing
        (
            lambda s, y: pick(s, y).mean(),
            r"failed on one example \(a batch of 1\): scores = \[\[2\.0, 1\.0, 0\.1\]\], labels = \[0\]\. "
            r"Expected 0\.417, but your function returned -0\.417",
        ),
        # the formula as the seed printed it: sum_i (log y_hat_i - 1[y = i]) ignores the label
        (
            lambda s, y: (log_softmax(s).sum(dim=1) - 1).mean(),
            r"labels = \[0\]\. Expected 0\.417, but your function returned -5\.15",
        ),
        # log of the softmax: log(0) = -inf for huge scores
        (
            lambda s, y: -torch.log(torch.softmax(s, dim=1))[torch.arange(len(y)), y].mean(),
            r"failed on huge scores: .*labels = \[0, 2\]\. Expected 1000\.0, but your function returned inf \(nan or inf\)",
        ),
        # sums instead of averaging over the batch
        (
            lambda s, y: -pick(s, y).sum(),
            r"failed on two classes: .*Expected 1\.5486, but your function returned 3\.0972",
        ),
        # one loss per example instead of the mean
        (
            lambda s, y: -pick(s, y),
            r"failed on one example \(a batch of 1\).*returned \[0\.417\] \(shape \(1,\) where \(\) was expected\)",
        ),
        # picks the next class's probability: right form, wrong entry
        (
            lambda s, y: -log_softmax(s)[torch.arange(len(y)), (y + 1) % s.shape[1]].mean(),
            r"labels = \[0\]\. Expected 0\.417, but your function returned 1\.417 \(different numbers\)",
        ),
        # crashes on an index past the last class
        (
            lambda s, y: -log_softmax(s)[torch.arange(len(y)), y + 3].mean(),
            r"failed on one example \(a batch of 1\): .*labels = \[0\]; your function raised IndexError",
        ),
    ],
    ids=["sign-error", "seed-printed-form", "log-of-softmax", "sum-not-mean", "no-reduction", "wrong-class", "raises"],
)
def test_check_cross_entropy_names_the_first_failing_input(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_cross_entropy(wrong)


def test_checks_do_not_let_the_student_change_their_inputs():
    """A function that edits its input in place must not corrupt the next case's expected answer."""

    def in_place(s):
        s -= s.max(dim=-1, keepdim=True).values
        return torch.softmax(s, dim=-1)

    check_softmax(in_place)
