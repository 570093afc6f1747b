"""day08.functional against PyTorch's own softmax and cross-entropy (the oracle)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from day08.functional import (
    binary_log_loss,
    cross_entropy,
    cross_entropy_grad,
    log_softmax,
    logsumexp,
    naive_softmax,
    sigmoid,
    softmax,
)
from hypothesis import given, settings
from hypothesis import strategies as st

F64 = torch.float64  # the oracle comparisons run in double precision


def batch(n=5, k=4, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g, dtype=F64) * scale, torch.randint(0, k, (n,), generator=g)


def test_softmax_and_log_softmax_match_torch():
    s, _ = batch()
    torch.testing.assert_close(softmax(s), torch.softmax(s, dim=-1))
    torch.testing.assert_close(log_softmax(s), torch.log_softmax(s, dim=-1))
    torch.testing.assert_close(logsumexp(s), torch.logsumexp(s, dim=-1))
    torch.testing.assert_close(softmax(s[0]), torch.softmax(s[0], dim=-1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5])
def test_cross_entropy_matches_torch(reduction, label_smoothing):
    s, y = batch(n=7, k=5)
    ours = cross_entropy(s, y, reduction=reduction, label_smoothing=label_smoothing)
    theirs = F.cross_entropy(s, y, reduction=reduction, label_smoothing=label_smoothing)
    torch.testing.assert_close(ours, theirs)


def test_cross_entropy_of_one_example_is_minus_log_prob_of_its_label():
    s = torch.tensor([2.0, 0.5, -1.0], dtype=F64)
    torch.testing.assert_close(cross_entropy(s, 1), -torch.log(torch.softmax(s, 0)[1]))


def test_softmax_with_k2_and_s1_zero_is_the_sigmoid():
    s2 = torch.linspace(-20, 20, 401, dtype=F64)
    scores = torch.stack([torch.zeros_like(s2), s2], dim=1)
    torch.testing.assert_close(softmax(scores)[:, 1], sigmoid(s2))


def test_cross_entropy_with_k2_is_the_binary_log_loss():
    s2 = torch.linspace(-8, 8, 81, dtype=F64)
    scores = torch.stack([torch.zeros_like(s2), s2], dim=1)
    for label in (0, 1):
        y = torch.full((81,), label)
        torch.testing.assert_close(cross_entropy(scores, y, reduction="none"), binary_log_loss(sigmoid(s2), y))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_huge_scores_match_torch_to_full_precision(dtype):
    s = torch.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4 + 1], [88.0, 89.0, 90.0]], dtype=dtype)
    torch.testing.assert_close(softmax(s), torch.softmax(s, dim=-1))
    torch.testing.assert_close(log_softmax(s), torch.log_softmax(s, dim=-1))
    y = torch.tensor([2, 0, 1])
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(cross_entropy(s, y, reduction=reduction), F.cross_entropy(s, y, reduction=reduction))


def test_one_example_gives_one_loss_and_one_gradient_row():
    s = torch.tensor([2.0, 1.0, 0.1], dtype=F64)
    loss = cross_entropy(s, torch.tensor(2), reduction="none", label_smoothing=0.2)
    assert loss.shape == ()
    torch.testing.assert_close(loss, F.cross_entropy(s[None], torch.tensor([2]), label_smoothing=0.2))
    torch.testing.assert_close(cross_entropy_grad(s, 2), torch.softmax(s, 0) - F.one_hot(torch.tensor(2), 3))


def test_cross_entropy_grad_is_autograd_of_the_mean_loss():
    s, y = batch(n=6, k=3)
    s.requires_grad_()
    F.cross_entropy(s, y).backward()
    torch.testing.assert_close(cross_entropy_grad(s.detach(), y), s.grad)


def test_binary_log_loss_gradient_is_sigmoid_minus_label():
    s = torch.linspace(-6, 6, 13, dtype=F64, requires_grad=True)
    y = torch.arange(13) % 2
    binary_log_loss(sigmoid(s), y).sum().backward()
    torch.testing.assert_close(s.grad, sigmoid(s.detach()) - y)


def test_the_printed_formula_of_the_seed_ignores_the_label_and_is_negative():
    """The chapter's note: sum_i (log y_hat_i - 1[y = i]) is the same for every label, and < 0."""
    y_hat = softmax(torch.tensor([2.0, 1.0, 0.1], dtype=F64))
    printed = [(torch.log(y_hat) - F.one_hot(torch.tensor(y), 3)).sum() for y in range(3)]
    assert all(torch.isclose(v, printed[0]) and v < 0 for v in printed)
    correct = [cross_entropy(torch.log(y_hat), y) for y in range(3)]
    assert correct[0] < correct[1] < correct[2] and all(c > 0 for c in correct)


def test_naive_softmax_overflows_where_softmax_does_not():
    s = torch.tensor([1000.0, 0.0], dtype=torch.float32)
    assert torch.isnan(naive_softmax(s)).any()
    torch.testing.assert_close(softmax(s), torch.tensor([1.0, 0.0]))


# ----------------------------------------------------------------------------- properties

finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)
score_rows = st.integers(1, 6).flatmap(
    lambda k: st.lists(st.lists(finite, min_size=k, max_size=k), min_size=1, max_size=5)
)


@settings(max_examples=200, deadline=None)
@given(score_rows)
def test_softmax_is_a_probability_distribution_even_for_huge_scores(rows):
    p = softmax(torch.tensor(rows, dtype=F64))
    assert torch.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all()
    torch.testing.assert_close(p.sum(dim=-1), torch.ones(len(rows), dtype=F64))


@settings(max_examples=200, deadline=None)
@given(score_rows, st.floats(-1e3, 1e3))
def test_softmax_ignores_a_constant_added_to_every_score(rows, c):
    s = torch.tensor(rows, dtype=F64)
    torch.testing.assert_close(softmax(s + c), softmax(s), atol=1e-9, rtol=1e-6)


@settings(max_examples=200, deadline=None)
@given(score_rows, st.data())
def test_gradient_is_prediction_minus_onehot(rows, data):
    s = torch.tensor(rows, dtype=F64, requires_grad=True)
    n, k = s.shape
    y = torch.tensor(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    loss = cross_entropy(s, y)
    assert torch.isfinite(loss)
    loss.backward()
    torch.testing.assert_close(s.grad, cross_entropy_grad(s.detach(), y))
    onehot = F.one_hot(y, k).double()
    torch.testing.assert_close(s.grad * n, torch.softmax(s.detach(), -1) - onehot)


@settings(max_examples=200, deadline=None)
@given(score_rows, st.data(), st.sampled_from([torch.float32, torch.float64]))
def test_nothing_is_nan_or_inf_for_scores_up_to_1e4(rows, data, dtype):
    s = torch.tensor(rows, dtype=dtype)
    n, k = s.shape
    y = torch.tensor(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    for out in (
        softmax(s),
        log_softmax(s),
        logsumexp(s),
        cross_entropy(s, y, reduction="none"),
        cross_entropy(s, y, label_smoothing=0.1),
        cross_entropy_grad(s, y),
    ):
        assert torch.isfinite(out).all()


@settings(max_examples=100, deadline=None)
@given(score_rows, st.data())
def test_cross_entropy_matches_torch_for_any_scores(rows, data):
    s = torch.tensor(rows, dtype=F64)
    n, k = s.shape
    y = torch.tensor(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    eps = data.draw(st.sampled_from([0.0, 0.05, 0.3]))
    torch.testing.assert_close(
        cross_entropy(s, y, label_smoothing=eps, reduction="none"),
        F.cross_entropy(s, y, label_smoothing=eps, reduction="none"),
    )


@settings(max_examples=200, deadline=None)
@given(st.floats(-30, 30))
def test_two_class_softmax_is_the_sigmoid_of_the_score_difference(s1):
    s = torch.tensor([[s1, 0.7]], dtype=F64)
    torch.testing.assert_close(softmax(s)[0, 1], sigmoid(torch.tensor(0.7 - s1, dtype=F64)))


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        (torch.zeros(2, 3, 4), torch.zeros(2, dtype=torch.long), r"shape \(k,\) for one example or \(N, k\)"),
        (torch.zeros(3, 4), torch.tensor([0, 1, 4]), r"labels\[2\] = 4 is not a class index.*0\.\.3"),
        (torch.zeros(3, 4), torch.tensor([0, -1, 2]), r"labels\[1\] = -1"),
        (torch.zeros(3, 4), torch.tensor([0.0, 1.0, 2.0]), r"integer class indices.*labels\.long\(\)"),
        (torch.zeros(3, 4), torch.tensor([0, 1]), r"2 entries but scores has 3 rows"),
        (torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), r"empty"),
        (torch.tensor([[0.0, float("nan")]]), torch.tensor([0]), r"NaN.*index \[0, 1\]"),
        (torch.zeros(3, 4), torch.zeros(3, 1, dtype=torch.long), r"shape \(N,\)"),
    ],
)
def test_bad_input_gets_a_plain_error(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        cross_entropy(scores, labels)


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (torch.tensor(3.0), r"shape \(k,\) for one example or \(N, k\) for a batch, got shape \(\)"),
        (torch.zeros(2, 3, 4), r"got shape \(2, 3, 4\)"),
        (torch.zeros(0), r"empty"),
        (torch.tensor([1.0, float("nan"), 2.0]), r"NaN \(first at index \[1\]\)"),
        ("abc", r"must be numbers"),
    ],
)
@pytest.mark.parametrize("fn", [softmax, log_softmax, logsumexp, naive_softmax])
def test_softmax_family_rejects_bad_scores(fn, scores, message):
    with pytest.raises(ValueError, match=message):
        fn(scores)


def test_labels_may_be_a_list_but_not_booleans():
    s = torch.zeros(2, 3)
    torch.testing.assert_close(cross_entropy(s, [0, 2]), F.cross_entropy(s, torch.tensor([0, 2])))
    with pytest.raises(ValueError, match="integer class indices.*got dtype torch.bool"):
        cross_entropy(s, torch.tensor([True, False]))
    with pytest.raises(ValueError, match=r"labels\[0\] = 3 is not a class index"):
        cross_entropy_grad(s, [3, 0])


def test_binary_log_loss_rejects_non_probabilities_and_non_binary_labels():
    with pytest.raises(ValueError, match="probability in \\[0, 1\\]"):
        binary_log_loss(torch.tensor([1.5]), torch.tensor([1]))
    with pytest.raises(ValueError, match="0 or 1"):
        binary_log_loss(torch.tensor([0.5]), torch.tensor([2]))


def test_bad_reduction_and_smoothing_are_rejected():
    s, y = batch()
    with pytest.raises(ValueError, match="reduction must be"):
        cross_entropy(s, y, reduction="average")
    with pytest.raises(ValueError, match="label_smoothing"):
        cross_entropy(s, y, label_smoothing=1.5)
