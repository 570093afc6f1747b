"""day08.data.load_mnist reads MNIST-format files the test writes itself; it never downloads."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
import torchvision.datasets.mnist
from day08.data import load_mnist


def write_idx(path, array: np.ndarray) -> None:
    """The IDX format: magic (0, 0, type 0x08 = uint8, number of dims), big-endian int32 dims, bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A root folder laid out as torchvision expects: <root>/MNIST/raw/{train,t10k}-{images,labels}-..."""

    def no_network(*args, **kwargs):
        raise AssertionError("load_mnist tried to download")

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", no_network)
    monkeypatch.setattr(torchvision.datasets.mnist, "download_url", no_network, raising=False)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    data = {}
    for split, n in (("train", 5), ("t10k", 3)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(raw / f"{split}-images-idx3-ubyte", images)
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
        data[split] = images, labels
    return tmp_path, data


@pytest.mark.parametrize("train, split", [(True, "train"), (False, "t10k")])
def test_loads_the_files_as_float_images_and_int64_labels(tiny_mnist, train, split):
    root, data = tiny_mnist
    images, labels = data[split]
    X, y = load_mnist(root, train=train, download=False)
    assert X.shape == (len(images), 1, 28, 28) and X.dtype == torch.float32
    assert y.shape == (len(images),) and y.dtype == torch.int64
    assert 0.0 <= float(X.min()) and float(X.max()) <= 1.0
    np.testing.assert_allclose(X[:, 0].numpy(), images / 255, atol=1e-7)
    np.testing.assert_array_equal(y.numpy(), labels)


def test_missing_files_give_a_plain_error_and_no_download(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_mnist tried to download")

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", no_network)
    with pytest.raises(FileNotFoundError, match=r"no MNIST files in .*MNIST/raw.*download=True"):
        load_mnist(tmp_path / "empty", download=False)


def test_download_must_be_a_bool(tmp_path):
    with pytest.raises(ValueError, match="download must be True or False"):
        load_mnist(tmp_path, download="yes")
