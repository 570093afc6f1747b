"""Input validation shared by the package: plain-language errors for wrong shapes and labels."""

from __future__ import annotations

import torch


def as_scores(scores, name: str = "scores") -> torch.Tensor:
    """Return ``scores`` as a floating tensor of shape (k,) or (N, k), or raise ValueError."""
    if not isinstance(scores, torch.Tensor):
        try:
            scores = torch.as_tensor(scores, dtype=torch.get_default_dtype())
        except (TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"{name} must be numbers (a tensor, list or array), got {type(scores).__name__}") from err
    if not scores.is_floating_point():
        scores = scores.to(torch.get_default_dtype())
    if scores.dim() not in (1, 2):
        raise ValueError(
            f"{name} must have shape (k,) for one example or (N, k) for a batch, got shape {tuple(scores.shape)}"
        )
    if scores.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(scores.shape)}): need at least one example and one class")
    if torch.isnan(scores).any():
        where = torch.nonzero(torch.isnan(scores))[0].tolist()
        raise ValueError(f"{name} contains NaN (first at index {where}): check the model's inputs and learning rate")
    return scores


def as_labels(labels, num_examples: int, num_classes: int, name: str = "labels") -> torch.Tensor:
    """Return ``labels`` as an int64 tensor of shape (N,) with values in [0, k), or raise ValueError."""
    if not isinstance(labels, torch.Tensor):
        labels = torch.as_tensor(labels)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(
            f"{name} must be integer class indices (dtype int64), got dtype {labels.dtype}: "
            "use labels.long() if they are whole numbers"
        )
    if labels.dim() != 1:
        raise ValueError(f"{name} must have shape (N,), one class index per example, got shape {tuple(labels.shape)}")
    if labels.shape[0] != num_examples:
        raise ValueError(
            f"{name} has {labels.shape[0]} entries but scores has {num_examples} rows: "
            "there must be one label per row of scores"
        )
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        first = int(torch.nonzero(bad)[0])
        raise ValueError(
            f"{name}[{first}] = {int(labels[first])} is not a class index: with k = {num_classes} classes "
            f"labels must be in 0..{num_classes - 1}"
        )
    return labels.long()
