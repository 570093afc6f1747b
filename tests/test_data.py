"""day08.data: the digits split is the documented one, deterministic, typed; bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from day08.data import load_digits_split
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def test_split_sizes_shapes_and_dtypes():
    X_train, X_test, y_train, y_test = load_digits_split()
    assert X_train.shape == (1257, 64) and X_test.shape == (540, 64)
    assert y_train.shape == (1257,) and y_test.shape == (540,)
    assert X_train.dtype == X_test.dtype == torch.float32
    assert y_train.dtype == y_test.dtype == torch.int64
    assert X_train.device.type == "cpu"
    assert 0 <= float(X_train.min()) and float(X_train.max()) == 16.0  # raw ink levels, not rescaled
    assert set(y_train.tolist()) == set(y_test.tolist()) == set(range(10))


def test_split_is_scikit_learns_with_random_state_42():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=42)
    split = load_digits_split(test_size=0.3, seed=42)
    np.testing.assert_array_equal(split.X_train.numpy(), X_train.astype(np.float32))
    np.testing.assert_array_equal(split.X_test.numpy(), X_test.astype(np.float32))
    np.testing.assert_array_equal(split.y_train.numpy(), y_train)
    np.testing.assert_array_equal(split.y_test.numpy(), y_test)


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = load_digits_split(seed=42), load_digits_split(seed=42), load_digits_split(seed=7)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(a.y_test, c.y_test)


def test_train_and_test_together_are_the_whole_dataset():
    split = load_digits_split()
    _, y = load_digits(return_X_y=True)
    together = torch.cat([split.y_train, split.y_test])
    assert torch.equal(torch.bincount(together), torch.bincount(torch.as_tensor(y)))


def test_test_size_changes_the_sizes():
    split = load_digits_split(test_size=0.5)
    assert len(split.X_train) + len(split.X_test) == 1797 and len(split.X_test) in (898, 899)


def test_device_is_honoured():
    assert load_digits_split(device="cpu").X_test.device == torch.device("cpu")
    assert load_digits_split(device=torch.device("cpu")).y_train.device == torch.device("cpu")


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(test_size=1.5), "test_size must be a fraction"),
        (dict(test_size=0.0), "test_size must be a fraction"),
        (dict(test_size="0.3"), "test_size must be a fraction"),
        (dict(test_size=30), "test_size must be a fraction"),
        (dict(seed="42"), "seed must be an int"),
        (dict(seed=4.2), "seed must be an int"),
        (dict(device="gpu0"), "device must be like"),
    ],
)
def test_bad_arguments_are_refused_with_a_plain_message(kwargs, words):
    with pytest.raises(ValueError, match=words):
        load_digits_split(**kwargs)
