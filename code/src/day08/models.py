"""Models for the training chapters.

``LogisticRegression`` is introduced (and its source shown) in the chapter "The annotated
training loop" (``book/training-loop.md``); the exercises chapter trains it again as the
baseline for the MLP. The MLP itself is the exercise, so it is not here.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LogisticRegression"]


class LogisticRegression(nn.Module):
    """Multiclass logistic regression: one linear layer from pixels to one score per class.

    Chapter "The annotated training loop". ``forward`` takes a batch of shape
    (N, num_features) and returns logits of shape (N, num_classes), not probabilities.
    """

    def __init__(self, num_features: int = 64, num_classes: int = 10):
        super().__init__()
        for name, value in (("num_features", num_features), ("num_classes", num_classes)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.linear = nn.Linear(num_features, num_classes)  # weight (10, 64), bias (10,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x, self.linear.in_features)  # x: (N, 64)
        return self.linear(x)  # logits (N, 10); no softmax: nn.CrossEntropyLoss applies log-softmax


def _check_batch(x, num_features: int) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"the model takes a torch.Tensor, got {type(x).__name__}: use torch.tensor(...) first")
    if not x.is_floating_point():
        raise ValueError(f"the model takes floating-point pixels, got dtype {x.dtype}: use x.float()")
    if x.dim() != 2 or x.shape[1] != num_features:
        hint = " (flatten images with x.reshape(len(x), -1))" if x.dim() > 2 else ""
        raise ValueError(
            f"the model takes a batch of shape (N, {num_features}), one row of {num_features} pixels "
            f"per image, got shape {tuple(x.shape)}{hint}"
        )
