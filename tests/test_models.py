"""day08.models: LogisticRegression returns logits of the right shape and refuses wrong input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from day08.models import LogisticRegression


@pytest.mark.parametrize("n", [1, 7, 540])
def test_output_is_one_score_per_class(n):
    torch.manual_seed(0)
    model = LogisticRegression()
    assert model(torch.randn(n, 64)).shape == (n, 10)


def test_sizes_are_configurable_and_count_parameters():
    model = LogisticRegression(num_features=784, num_classes=3)
    assert model(torch.rand(2, 784)).shape == (2, 3)
    assert sum(p.numel() for p in model.parameters()) == 784 * 3 + 3
    assert sum(p.numel() for p in LogisticRegression().parameters()) == 650


def test_forward_is_the_linear_map_without_softmax():
    torch.manual_seed(0)
    model = LogisticRegression()
    x = torch.randn(5, 64)
    expected = x @ model.linear.weight.T + model.linear.bias
    assert torch.allclose(model(x), expected, atol=1e-6)
    assert not torch.allclose(model(x).sum(dim=1), torch.ones(5), atol=1e-2)  # logits, not probabilities


def test_gradients_flow_to_both_parameters():
    model = LogisticRegression()
    torch.nn.functional.cross_entropy(model(torch.randn(4, 64)), torch.tensor([0, 1, 2, 3])).backward()
    assert model.linear.weight.grad.shape == (10, 64) and model.linear.bias.grad.shape == (10,)


@pytest.mark.parametrize(
    "x, words",
    [
        (torch.randn(3, 63), r"shape \(N, 64\).*got shape \(3, 63\)"),
        (torch.randn(3, 8, 8), r"flatten images"),
        (torch.randn(64), r"got shape \(64,\)"),
        (torch.ones(3, 64, dtype=torch.int64), r"floating-point.*x\.float\(\)"),
        (np.zeros((3, 64), dtype=np.float32), r"torch\.Tensor, got ndarray"),
    ],
)
def test_wrong_input_is_refused_with_a_plain_message(x, words):
    with pytest.raises(ValueError, match=words):
        LogisticRegression()(x)


@pytest.mark.parametrize(
    "kwargs", [dict(num_features=0), dict(num_classes=-1), dict(num_features=6.4), dict(num_classes=True)]
)
def test_bad_sizes_are_refused(kwargs):
    with pytest.raises(ValueError, match="must be a positive int"):
        LogisticRegression(**kwargs)
