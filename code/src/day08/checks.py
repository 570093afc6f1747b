"""Exercise checks: call one on your own answer, in the book or in Colab.

Each check runs your function, model or loop on inputs where the right answer is known and
stops at the first input where yours differs, saying in plain words what went in, what was
expected and what came out. When everything agrees it prints one line saying so.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook


class CheckFailed(AssertionError):
    """Raised by a check with a message that says which input failed and how."""


def _passed(what: str) -> None:
    print(f"All checks passed: {what}.")


# ----------------------------------------------------------------------------- softmax, cross-entropy
# Chapters "Softmax" (book/softmax.md) and "Cross-entropy" (book/cross-entropy.md).


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
    input where it does not. (Chapter "Softmax".)
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
    scores. Stops at the first input where it differs. (Chapter "Cross-entropy".)
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


# ----------------------------------------------------------------------------- MLP, mini-batches
# --- Chapter "Exercises: an MLP and mini-batches" (book/training-exercises.md) ------------


def check_mlp(model_or_class, num_features: int = 64, num_classes: int = 10) -> None:
    """Check an MLP for exercise (a): Linear(64, h) -> sigmoid -> Linear(h, 10), returning logits.

    Pass the class (``check_mlp(MLP)``, built as ``MLP(h)`` for two sizes h, which checks that the
    hidden size is configurable) or one model (``check_mlp(MLP(32))``). Chapter "Exercises: an
    MLP and mini-batches".
    """
    if isinstance(model_or_class, nn.Module):
        models = [model_or_class]
    elif isinstance(model_or_class, type) and issubclass(model_or_class, nn.Module):
        models = []
        for h in (3, 17):
            try:
                models.append(model_or_class(h))
            except Exception as err:  # the student's constructor: report whatever it raised
                raise CheckFailed(
                    f"{model_or_class.__name__}({h}) raised {type(err).__name__}: {err}; "
                    "the class must take the number of hidden units as its first argument"
                ) from err
            linears = [m for m in models[-1].modules() if isinstance(m, nn.Linear)]
            if linears and linears[0].out_features != h:
                raise CheckFailed(
                    f"{model_or_class.__name__}({h}) has {linears[0].out_features} hidden units, "
                    f"expected {h}: use the argument for the first layer's output size"
                )
    else:
        raise CheckFailed(f"pass an nn.Module class or instance, got {type(model_or_class).__name__}")

    for model in models:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        if len(linears) != 2:
            raise CheckFailed(
                f"expected exactly two nn.Linear layers (input -> hidden -> output), found {len(linears)}"
            )
        first, second = linears
        h = first.out_features
        if first.in_features != num_features or second.in_features != h or second.out_features != num_classes:
            raise CheckFailed(
                f"layer sizes are Linear({first.in_features}, {first.out_features}) then "
                f"Linear({second.in_features}, {second.out_features}); expected Linear({num_features}, h) "
                f"then Linear(h, {num_classes}) with the same h"
            )
        n_params = sum(p.numel() for p in model.parameters())
        expected = (num_features + 1) * h + (h + 1) * num_classes
        if n_params != expected:
            raise CheckFailed(
                f"the model has {n_params} parameters; with h = {h} it should have "
                f"({num_features} + 1) * h + (h + 1) * {num_classes} = {expected}: remove extra layers or parameters"
            )
        x = torch.randn(5, num_features, generator=torch.Generator().manual_seed(0)) * 4
        with torch.no_grad():
            try:
                out = model(x)
            except Exception as err:
                raise CheckFailed(
                    f"model(x) with x of shape (5, {num_features}) raised {type(err).__name__}: {err}"
                ) from err
            if not isinstance(out, torch.Tensor) or out.shape != (5, num_classes):
                shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise CheckFailed(f"model(x) for 5 examples must have shape (5, {num_classes}), got {shape}")
            candidates = {
                "sigmoid": second(torch.sigmoid(first(x))),
                "softmax on the output": torch.softmax(second(torch.sigmoid(first(x))), dim=1),
                "no activation": second(first(x)),
                "ReLU": second(torch.relu(first(x))),
                "tanh": second(torch.tanh(first(x))),
            }
        found = next((name for name, value in candidates.items() if torch.allclose(out, value, atol=1e-5)), None)
        if found == "softmax on the output":
            raise CheckFailed(
                "the model returns probabilities (softmax): return the logits, because "
                "nn.CrossEntropyLoss applies log-softmax itself"
            )
        if found in ("no activation", "ReLU", "tanh"):
            raise CheckFailed(f"the hidden layer uses {found}; the exercise asks for a sigmoid between the layers")
        if found is None:
            raise CheckFailed(
                "model(x) is not second_layer(sigmoid(first_layer(x))): check the order of the "
                "layers and that forward uses both"
            )
    _passed("the MLP has a sigmoid hidden layer, the right sizes and parameter count, and returns logits")


def check_minibatch_loop(train_fn) -> None:
    """Check a mini-batch training function for exercise (b).

    ``train_fn(model, X, y, batch_size, epochs, lr)`` must train ``model`` in place with SGD and
    ``nn.CrossEntropyLoss``, one optimizer step per mini-batch, every example once per epoch,
    and return a list with the mean training loss of each epoch as Python floats. The check
    runs it on a small problem (103 examples, so the last batch is smaller). Chapter
    "Exercises: an MLP and mini-batches".
    """
    n, batch_size, epochs, lr = 103, 10, 3, 0.05
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=gen)
    y = torch.randint(0, 3, (n,), generator=gen)

    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 3)
            self.batches = []  # the rows of X in each training batch, in order

        def forward(self, x):
            if torch.is_grad_enabled():
                self.batches.append(torch.cdist(x.detach(), X).argmin(dim=1).tolist())
            return self.linear(x)

    model = Recorder()
    problems, steps = [], []

    def before_step(optimizer, args, kwargs):
        steps.append(len(model.batches))
        rows = model.batches[-1] if model.batches else []
        xb, yb = X[rows], y[rows]
        w = model.linear.weight.detach().clone().requires_grad_()
        b = model.linear.bias.detach().clone().requires_grad_()
        nn.functional.cross_entropy(xb @ w.T + b, yb).backward()
        grad = model.linear.weight.grad
        if grad is None or not torch.allclose(grad, w.grad, atol=1e-5):
            problems.append(len(model.batches))

    handle = register_optimizer_step_pre_hook(before_step)
    try:
        losses = train_fn(model, X, y, batch_size=batch_size, epochs=epochs, lr=lr)
    finally:
        handle.remove()

    per_epoch = math.ceil(n / batch_size)
    if len(model.batches) != epochs * per_epoch:
        raise CheckFailed(
            f"with {n} examples, batch_size={batch_size} and epochs={epochs} the model should see "
            f"{epochs} x {per_epoch} = {epochs * per_epoch} training batches, it saw {len(model.batches)}: "
            "loop over a DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True) once per epoch"
        )
    for e in range(epochs):
        seen = sorted(i for batch in model.batches[e * per_epoch : (e + 1) * per_epoch] for i in batch)
        if seen != list(range(n)):
            raise CheckFailed(
                f"epoch {e + 1} did not use every example exactly once: each epoch must pass over "
                "the whole training set"
            )
    if any(len(b) != batch_size for b in model.batches[: per_epoch - 1]):
        raise CheckFailed(
            f"batches should hold batch_size={batch_size} examples (the last may be smaller), "
            f"got sizes {[len(b) for b in model.batches[:per_epoch]]}"
        )
    if model.batches[:per_epoch] == [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]:
        raise CheckFailed("the batches come in the same order as the data: shuffle each epoch (shuffle=True)")
    if problems:
        raise CheckFailed(
            f"at optimizer step {problems[0]} the gradient was not the gradient of that batch's mean "
            "cross-entropy: call optimizer.zero_grad() before loss.backward() (otherwise gradients "
            "from earlier batches add up), and use nn.CrossEntropyLoss()"
        )
    if not isinstance(losses, (list, tuple)) or len(losses) != epochs:
        got = f"a list of {len(losses)}" if isinstance(losses, (list, tuple)) else type(losses).__name__
        raise CheckFailed(f"return one loss per epoch ({epochs} here), got {got}")
    if not all(isinstance(v, float) for v in losses):
        kinds = sorted({type(v).__name__ for v in losses})
        raise CheckFailed(
            f"losses must be Python floats, got {kinds}: use loss.item() (a tensor keeps its "
            "whole computation graph alive)"
        )
    if len(steps) != len(model.batches):
        raise CheckFailed(
            f"the model saw {len(model.batches)} training batches but the optimizer took {len(steps)} "
            "steps: call optimizer.step() once for each batch, after loss.backward()"
        )
    _passed("one optimizer step per shuffled mini-batch, fresh gradients each step, per-epoch losses as floats")
