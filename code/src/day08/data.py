"""Data for the training chapters: the 8x8 digits as tensors, and the full MNIST as a next step.

``load_digits_split`` is introduced in the chapter "The annotated training loop"
(``book/training-loop.md``) and used again in "Exercises: an MLP and mini-batches"
(``book/training-exercises.md``). ``load_mnist`` is the next step that chapter points to; it
downloads only when asked (``download=True``) and the network allows it, as in Colab.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch

__all__ = ["DigitsSplit", "load_digits_split", "load_mnist"]


class DigitsSplit(NamedTuple):
    """Train and test tensors: images flattened to rows of 64 pixel values (0..16), labels 0..9."""

    X_train: torch.Tensor  # (1257, 64) float32
    X_test: torch.Tensor  # (540, 64) float32
    y_train: torch.Tensor  # (1257,) int64
    y_test: torch.Tensor  # (540,) int64


def load_digits_split(test_size: float = 0.3, seed: int = 42, device=None) -> DigitsSplit:
    """scikit-learn's bundled 1,797 8x8 digits, split into train and test, as tensors on ``device``.

    Chapter "The annotated training loop". The split is ``train_test_split(X, y,
    test_size=test_size, random_state=seed)``, so the same ``seed`` always gives the same rows
    (with the defaults: 1,257 for training, 540 for testing). Pixels keep their raw values 0..16.
    ``device`` is anything ``torch.device`` accepts (default: the CPU).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not isinstance(test_size, float) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction strictly between 0 and 1 (e.g. 0.3), got {test_size!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int (it fixes which rows go to the test set), got {seed!r}")
    try:
        device = torch.device("cpu" if device is None else device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be like 'cpu', 'cuda' or torch.device('cuda:0'), got {device!r}") from err

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=seed)

    def floats(a):
        return torch.tensor(a, dtype=torch.float32, device=device)

    def labels(a):
        return torch.tensor(a, dtype=torch.int64, device=device)

    return DigitsSplit(floats(X_train), floats(X_test), labels(y_train), labels(y_test))


def load_mnist(root, train: bool = True, download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The full MNIST (28x28 digits) through ``torchvision.datasets.MNIST``, as two tensors.

    Named as the next step in the chapter "The annotated training loop". Returns ``(X, y)``:
    ``X`` of shape (N, 1, 28, 28), float32 in [0, 1]; ``y`` of shape (N,), int64 in 0..9
    (N = 60,000 for ``train=True``, 10,000 for the test set). Reads the files torchvision keeps
    in ``<root>/MNIST/raw/``; downloads them (about 12 MB) only when ``download=True``.
    """
    from torchvision.datasets import MNIST

    root = Path(root)
    if not isinstance(download, bool):
        raise ValueError(f"download must be True or False, got {download!r}")
    try:
        dataset = MNIST(root, train=bool(train), download=download)
    except RuntimeError as err:
        if download:
            raise
        raise FileNotFoundError(
            f"no MNIST files in {root / 'MNIST' / 'raw'} (expected train-images-idx3-ubyte, "
            "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte): "
            "call load_mnist(root, download=True) where the network allows it, e.g. in Colab"
        ) from err
    X = dataset.data.unsqueeze(1).to(torch.float32) / 255
    return X, dataset.targets.to(torch.int64)
