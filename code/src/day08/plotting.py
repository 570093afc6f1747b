"""Figures for the training chapters, styled once here so the chapters show only the lesson.

Every function returns a new ``matplotlib.figure.Figure`` with a white background (readable on
a dark page too) and leaves it open for the caller to show or ``glue``. Introduced in the
chapter "The annotated training loop" (``book/training-loop.md``), except where noted.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import make_grid

__all__ = ["digit_grid", "learning_curves", "confusion_matrix", "misclassified_grid"]

_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 10,
}


def _images(images) -> torch.Tensor:
    """(N, 64) rows or (N, 8, 8) / (N, 1, H, W) images -> (N, 1, H, W) float on the CPU."""
    images = torch.as_tensor(images).detach().cpu().float()
    if images.dim() == 2:
        side = int(round(images.shape[1] ** 0.5))
        if side * side != images.shape[1]:
            raise ValueError(
                f"rows of pixels must be square images (e.g. 64 = 8x8), got {images.shape[1]} pixels per row"
            )
        images = images.reshape(-1, 1, side, side)
    elif images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] != 1 or len(images) == 0:
        raise ValueError(
            "images must be a non-empty batch of shape (N, 64), (N, 8, 8) or (N, 1, H, W), "
            f"got shape {tuple(images.shape)}"
        )
    return images


def digit_grid(images, labels=None, nrow: int = 10, title: str | None = None, scale: float = 0.6):
    """A gallery of digits tiled by ``torchvision.utils.make_grid``, each labelled when ``labels`` given.

    ``images`` is (N, 64), (N, 8, 8) or (N, 1, H, W); pixel values are scaled to [0, 1] for
    display, dark ink on white.
    """
    images = _images(images)
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels: need one label per image")
    images = images / images.amax().clamp(min=1e-12)
    pad = max(1, images.shape[-1] // 4)
    grid = make_grid(1 - images, nrow=nrow, padding=pad, pad_value=1.0)  # ink dark, paper white
    rows = -(-len(images) // nrow)
    cols = min(nrow, len(images))
    side = images.shape[-1] + pad
    with plt.rc_context(_STYLE | {"axes.grid": False}):
        fig, ax = plt.subplots(figsize=(scale * cols + 0.2, scale * rows * (1.35 if labels is not None else 1) + 0.4))
        ax.imshow(grid[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        if labels is not None:
            for i, label in enumerate(labels):
                r, c = divmod(i, nrow)
                ax.text(c * side + pad / 2, r * side + pad / 2, str(int(label)), color="tab:blue",
                        fontsize=8, fontweight="bold", va="top", ha="left")  # fmt: skip
        ax.set_axis_off()
        if title:
            ax.set_title(title)
        fig.tight_layout()
    return fig


def learning_curves(histories: dict, title: str | None = None):
    """Training loss, test loss and test accuracy against epochs, one line style per model.

    ``histories`` maps a model's name to a dict of equal-length lists with keys
    ``"train_loss"``, ``"test_loss"`` and ``"test_acc"`` (accuracy as a fraction). Also used in
    the chapter "Exercises: an MLP and mini-batches" to put several models on the same axes.
    """
    if not histories:
        raise ValueError("histories is empty: pass {'model name': {'train_loss': [...], ...}}")
    for name, h in histories.items():
        missing = {"train_loss", "test_loss", "test_acc"} - set(h)
        if missing:
            raise ValueError(f"history {name!r} lacks {sorted(missing)}: record all three every epoch")
    with plt.rc_context(_STYLE):
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
        for i, (name, h) in enumerate(histories.items()):
            color = f"C{i}"
            epochs = np.arange(1, len(h["train_loss"]) + 1)
            ax_loss.plot(epochs, h["train_loss"], color=color, label=f"{name}: train")
            ax_loss.plot(epochs, h["test_loss"], color=color, linestyle="--", label=f"{name}: test")
            ax_acc.plot(epochs, 100 * np.asarray(h["test_acc"]), color=color, label=name)
        ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log", title="loss")
        ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
        low = min(100 * np.asarray(h["test_acc"])[len(h["test_acc"]) // 10 :].min() for h in histories.values())
        ax_acc.set_ylim(max(0, low - 2), 100)
        ax_loss.legend(frameon=False, fontsize=8)
        if len(histories) > 1:
            ax_acc.legend(frameon=False, fontsize=8)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def confusion_matrix(counts, title: str | None = None):
    """Draw a k x k confusion matrix: row = true class, column = predicted class, counts in cells."""
    counts = np.asarray(torch.as_tensor(counts).cpu())
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"counts must be a square k x k matrix, got shape {counts.shape}")
    k = counts.shape[0]
    with plt.rc_context(_STYLE | {"axes.grid": False}):
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
        ax.imshow(counts, cmap="Blues")
        for (i, j), n in np.ndenumerate(counts):
            if n:
                dark = n > counts.max() / 2
                ax.text(j, i, int(n), ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set(xticks=range(k), yticks=range(k), xlabel="predicted class", ylabel="true class")
        if title:
            ax.set_title(title)
        fig.tight_layout()
    return fig


def misclassified_grid(images, y_true, y_pred, ncols: int = 8, max_shown: int = 24):
    """The test digits the model got wrong, each titled "predicted (true)", at most ``max_shown``."""
    images = _images(images)
    y_true, y_pred = torch.as_tensor(y_true).cpu(), torch.as_tensor(y_pred).cpu()
    if not len(images) == len(y_true) == len(y_pred):
        raise ValueError(
            f"need one true and one predicted label per image: got {len(images)} images, "
            f"{len(y_true)} true labels, {len(y_pred)} predictions"
        )
    wrong = torch.nonzero(y_true != y_pred).flatten()[:max_shown]
    if len(wrong) == 0:
        raise ValueError("no misclassified images: every prediction equals its true label")
    rows = -(-len(wrong) // ncols)
    with plt.rc_context(_STYLE | {"axes.grid": False}):
        fig, axes = plt.subplots(rows, ncols, figsize=(1.1 * ncols, 1.3 * rows), squeeze=False)
        for ax in axes.flat:
            ax.set_axis_off()
        for ax, i in zip(axes.flat, wrong.tolist(), strict=False):
            ax.imshow(images[i, 0].numpy(), cmap="gray_r", interpolation="nearest")
            ax.set_title(f"{int(y_pred[i])} ({int(y_true[i])})", fontsize=10, color="tab:red")
        fig.suptitle("predicted (true)", fontsize=10)
        fig.tight_layout()
    return fig
