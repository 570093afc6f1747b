"""The exercise checks of "Exercises: an MLP and mini-batches" accept right answers and catch wrong ones."""

from __future__ import annotations

import pytest
import torch
from day08.checks import CheckFailed, check_minibatch_loop, check_mlp
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class MLP(nn.Module):
    def __init__(self, num_hidden):
        super().__init__()
        self.hidden = nn.Linear(64, num_hidden)
        self.output = nn.Linear(num_hidden, 10)

    def forward(self, x):
        return self.output(torch.sigmoid(self.hidden(x)))


def variant(activation=torch.sigmoid, softmax=False, fixed_hidden=None, extra=False, sizes=(64, 10)):
    class Variant(nn.Module):
        def __init__(self, num_hidden):
            super().__init__()
            h = fixed_hidden or num_hidden
            self.hidden = nn.Linear(sizes[0], h)
            self.output = nn.Linear(h, sizes[1])
            if extra:
                self.scale = nn.Parameter(torch.ones(1))

        def forward(self, x):
            out = self.output(activation(self.hidden(x)))
            return torch.softmax(out, dim=1) if softmax else out

    return Variant


def test_a_right_mlp_passes_as_class_and_as_instance(capsys):
    check_mlp(MLP)
    check_mlp(MLP(32))
    check_mlp(nn.Sequential(nn.Linear(64, 5), nn.Sigmoid(), nn.Linear(5, 10)))
    assert capsys.readouterr().out.count("All checks passed") == 3


@pytest.mark.parametrize(
    "wrong, words",
    [
        (variant(activation=torch.relu), "uses ReLU"),
        (variant(activation=lambda z: z), "no activation"),
        (variant(activation=torch.tanh), "uses tanh"),
        (variant(softmax=True), "returns probabilities"),
        (variant(fixed_hidden=32), "has 32 hidden units, expected 3"),
        (variant(extra=True), "parameters"),
        (variant(sizes=(64, 9)), "layer sizes"),
        (variant(activation=lambda z: torch.sigmoid(2 * z)), "is not second_layer"),
        (nn.Sequential(nn.Linear(64, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 10)), "exactly two"),
        ("MLP", "pass an nn.Module"),
    ],
)
def test_a_wrong_mlp_is_caught_with_a_message_naming_the_fault(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_mlp(wrong)


def test_a_constructor_that_fails_is_reported():
    class NoArgument(nn.Module):
        def __init__(self):
            super().__init__()

    with pytest.raises(CheckFailed, match="hidden units as its first argument"):
        check_mlp(NoArgument)


def train_minibatch(zero_grad=True, item=True, shuffle=True, step=True, full_batch=False, epochs_off=0):
    def train(model, X, y, batch_size, epochs, lr):
        loader = DataLoader(TensorDataset(X, y), batch_size=len(X) if full_batch else batch_size, shuffle=shuffle)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        losses = []
        for _ in range(epochs + epochs_off):
            total = 0.0
            for xb, yb in loader:
                if zero_grad:
                    optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(xb), yb)
                loss.backward()
                if step:
                    optimizer.step()
                total = total + (loss.item() if item else loss) * len(xb)
            losses.append(total / len(X))
        return losses

    return train


def test_a_right_minibatch_loop_passes(capsys):
    check_minibatch_loop(train_minibatch())
    assert "All checks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(zero_grad=False), r"zero_grad\(\) before loss\.backward\(\)"),
        (dict(item=False), r"Python floats.*loss\.item\(\)"),
        (dict(shuffle=False), "shuffle"),
        (dict(step=False), r"took 0 steps: call optimizer\.step\(\) once for each batch"),
        (dict(full_batch=True), "should see 3 x 11 = 33 training batches, it saw 3"),
        (dict(epochs_off=1), "training batches"),
    ],
)
def test_a_wrong_minibatch_loop_is_caught_with_a_message_naming_the_fault(kwargs, words):
    with pytest.raises(CheckFailed, match=words):
        check_minibatch_loop(train_minibatch(**kwargs))


def test_a_loop_that_returns_the_wrong_number_of_losses_is_caught():
    def train(model, X, y, batch_size, epochs, lr):
        return train_minibatch()(model, X, y, batch_size, epochs, lr)[:-1]

    with pytest.raises(CheckFailed, match="one loss per epoch"):
        check_minibatch_loop(train)


def test_the_check_leaves_no_optimizer_hook_behind():
    with pytest.raises(CheckFailed):
        check_minibatch_loop(train_minibatch(zero_grad=False))
    p = nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([p], lr=1.0)
    p.grad = torch.ones(1)
    opt.step()  # a left-over hook would compare gradients of the check's model here and fail
    assert p.item() == 0.0
