"""Exercise checks: call one on your own answer, in the book or in Colab.

Each check runs your function, model or loop on inputs where the right answer is known and
stops at the first input where yours differs, saying in plain words what went in, what was
expected and what came out. When everything agrees it prints one line saying so.
"""

from __future__ import annotations

import torch


class CheckFailed(AssertionError):
    """Raised by a check with a message that says which input failed and how."""


def _passed(what: str) -> None:
    print(f"All checks passed: {what}.")


# ----------------------------------------------------------------------------- softmax, cross-entropy
# Chapter "Softmax and cross-entropy" (book/softmax-cross-entropy.md).


def _show(x) -> str:
    """A tensor (or anything) as short, readable nested lists of numbers."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double()
        return str(round(x.item(), 4) if x.dim() == 0 else torch.round(x, decimals=4).tolist())
    return repr(x)


def _mismatch(name: str, what: str, inputs: str, expected: torch.Tensor, got) -> str | None:
    """Why ``got`` differs from ``expected`` (shape, nan/inf or values, to float32 accuracy), or None."""
    try:
        got_t = torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got, dtype=expected.dtype)
    except (TypeError, ValueError, RuntimeError):
        return f"{name} failed on {what}: {inputs}; expected a tensor, but your function returned {got!r}"
    problem = None
    if got_t.shape != expected.shape:
        problem = f"shape {tuple(got_t.shape)} where {tuple(expected.shape)} was expected"
    elif not torch.isfinite(got_t).all():
        problem = "nan or inf"
    elif not torch.allclose(got_t, expected, rtol=1e-4, atol=1e-5):
        problem = "different numbers"
    if problem:
        return (
            f"{name} failed on {what}: {inputs}. Expected {_show(expected)}, "
            f"but your function returned {_show(got_t)} ({problem})."
        )
    return None


def _softmax_cases():
    g = torch.Generator().manual_seed(8)
    return [
        ("one example", torch.tensor([2.0, 1.0, 0.1])),
        ("equal scores", torch.tensor([0.5, 0.5, 0.5, 0.5])),
        ("negative scores", torch.tensor([-3.0, -1.0, -2.0])),
        ("two classes", torch.tensor([0.0, 3.0])),
        ("huge scores", torch.tensor([1000.0, 0.0, -1000.0])),
        ("huge equal scores", torch.tensor([800.0, 800.0])),
        ("very negative scores", torch.tensor([-1000.0, -1001.0, -1002.0])),
        ("a batch of 5 examples with 4 classes (one row each)", torch.randn(5, 4, generator=g) * 3),
        ("a batch with huge scores", torch.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4 + 1]])),
    ]


def check_softmax(fn) -> None:
    """Check your ``fn(scores)``: softmax along the last axis, for shape (k,) or (N, k).

    It must give ``torch.softmax(scores, dim=-1)``, also for huge scores. Stops at the first
    input where it does not. (Chapter "Softmax and cross-entropy".)
    """
    for what, scores in _softmax_cases():
        inputs = f"scores = {_show(scores)}"
        try:
            got = fn(scores.clone())
        except Exception as err:  # a student's bug, reported in words
            raise CheckFailed(f"check_softmax failed on {what}: {inputs}; your function raised {err!r}") from err
        message = _mismatch("check_softmax", what, inputs, torch.softmax(scores, dim=-1), got)
        if message:
            raise CheckFailed(message)
    _passed("your softmax matches torch.softmax, even for huge scores")


def _cross_entropy_cases():
    g = torch.Generator().manual_seed(8)
    return [
        ("one example (a batch of 1)", torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0])),
        ("one example whose label has a low score", torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([2])),
        ("two classes", torch.tensor([[0.0, 3.0], [0.0, 3.0]]), torch.tensor([0, 1])),
        (
            "a batch of 6 examples with 4 classes",
            torch.randn(6, 4, generator=g) * 3,
            torch.randint(0, 4, (6,), generator=g),
        ),
        ("huge scores", torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0]]), torch.tensor([0, 2])),
        ("very negative scores", torch.tensor([[-1000.0, -1001.0, -1002.0]]), torch.tensor([1])),
    ]


def check_cross_entropy(fn) -> None:
    """Check your ``fn(scores, labels)``: the mean cross-entropy of a batch, from raw scores.

    ``scores`` has shape (N, k) and ``labels`` shape (N,) with class indices in 0..k-1; the
    answer is one number, ``torch.nn.functional.cross_entropy(scores, labels)``, also for huge
    scores. Stops at the first input where it differs. (Chapter "Softmax and cross-entropy".)
    """
    for what, scores, labels in _cross_entropy_cases():
        inputs = f"scores = {_show(scores)}, labels = {labels.tolist()}"
        try:
            got = fn(scores.clone(), labels.clone())
        except Exception as err:  # a student's bug, reported in words
            raise CheckFailed(f"check_cross_entropy failed on {what}: {inputs}; your function raised {err!r}") from err
        expected = torch.nn.functional.cross_entropy(scores, labels)
        message = _mismatch("check_cross_entropy", what, inputs, expected, got)
        if message:
            raise CheckFailed(message)
    _passed("your cross-entropy matches torch.nn.functional.cross_entropy, even for huge scores")
