"""day08.functional.binary_log_loss and its logits form against PyTorch, edge cases included."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from day08.functional import binary_log_loss, binary_log_loss_with_logits, sigmoid

F64 = torch.float64
# every probability edge: exactly 0 and 1 with agreeing and disagreeing labels, and values near them
P = torch.tensor([0.0, 0.0, 1.0, 1.0, 1e-300, 1 - 1e-16, 0.5, 0.3, 0.999999], dtype=F64)
Y = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0], dtype=F64)


def test_agrees_with_torch_binary_cross_entropy_at_0_and_1_and_in_between():
    ours = binary_log_loss(P, Y)
    # PyTorch clamps log at -100, so a wrong label at exactly 0 or 1 costs 100 there, inf here
    theirs = F.binary_cross_entropy(P, Y, reduction="none")
    agree = ~torch.isinf(ours)
    torch.testing.assert_close(ours[agree], theirs[agree])
    assert torch.isinf(ours[~agree]).all() and (theirs[~agree] == 100).all()
    assert agree.sum() == len(P) - 2


def test_a_certain_and_right_prediction_costs_exactly_zero_not_nan():
    loss = binary_log_loss(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]))
    assert torch.equal(loss, torch.zeros(2))


def test_a_certain_and_wrong_prediction_costs_infinity():
    loss = binary_log_loss(torch.tensor([0.0, 1.0]), torch.tensor([1, 0]))
    assert torch.isinf(loss).all() and (loss > 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_logits_form_agrees_with_binary_cross_entropy_with_logits(dtype):
    s = torch.tensor([-1000.0, -50.0, -5.0, 0.0, 3.0, 40.0, 1000.0], dtype=dtype)
    for label in (0.0, 1.0):
        y = torch.full_like(s, label)
        ours = binary_log_loss_with_logits(s, y)
        assert torch.isfinite(ours).all()
        torch.testing.assert_close(ours, F.binary_cross_entropy_with_logits(s, y, reduction="none"))


def test_logits_form_equals_the_probability_form_where_the_sigmoid_is_exact():
    s = torch.linspace(-20, 20, 81, dtype=F64)
    y = (torch.arange(81) % 2).to(F64)
    torch.testing.assert_close(binary_log_loss_with_logits(s, y), binary_log_loss(sigmoid(s), y))


def test_gradients_are_finite_at_the_edges_and_equal_sigmoid_minus_label():
    s = torch.tensor([-800.0, 0.0, 800.0], dtype=F64, requires_grad=True)
    y = torch.tensor([1.0, 0.0, 0.0], dtype=F64)
    binary_log_loss_with_logits(s, y).sum().backward()
    torch.testing.assert_close(s.grad, sigmoid(s.detach()) - y)


def test_logits_form_rejects_bad_labels_and_nan():
    with pytest.raises(ValueError, match="0 or 1"):
        binary_log_loss_with_logits(torch.tensor([0.5]), torch.tensor([2.0]))
    with pytest.raises(ValueError, match="NaN"):
        binary_log_loss_with_logits(torch.tensor([float("nan")]), torch.tensor([1.0]))
