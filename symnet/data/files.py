"""Datasets read from local files: IDX (MNIST, Fashion-MNIST) and scikit-learn's bundled digits. Nothing is
downloaded, ever."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np

from ..frontend.creation import tensor
from .dataset import TensorDataset


def load_idx(path: str | Path) -> np.ndarray:
    """An IDX file (MNIST, Fashion-MNIST), raw or ``.gz``, as an array; the header is validated."""
    path = Path(path)
    raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type {raw[2]:#x}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise ValueError(f"{path}: header says {shape} but the file holds {data.size} elements")
    return data.reshape(shape)


def mnist(folder: str | Path, train: bool = True) -> TensorDataset:
    """MNIST or Fashion-MNIST from the four IDX files in a local folder: images scaled to [0, 1], labels."""
    folder = Path(folder)
    prefix = "train" if train else "t10k"

    def find(kind: str) -> Path:
        for name in (f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte", f"{prefix}-{kind}.idx"):
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.exists():
                    return candidate
        raise FileNotFoundError(f"no {prefix} {kind} IDX file in {folder}")

    images = load_idx(find("images")).astype(np.float32) / 255
    labels = load_idx(find("labels")).astype(np.int64)
    return TensorDataset(tensor(images), tensor(labels))


def digits(train: bool = True, test_fraction: float = 0.25, seed: int = 0) -> TensorDataset:
    """scikit-learn's bundled 8×8 digits (1797 images, offline), split deterministically; needs the
    ``symnet[examples]`` extra."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError("digits() needs scikit-learn: pip install 'symnet[examples]'") from exc
    bunch = load_digits()
    order = np.random.default_rng(seed).permutation(len(bunch.target))
    cut = int(round(len(order) * (1 - test_fraction)))
    index = order[:cut] if train else order[cut:]
    return TensorDataset(tensor(bunch.images[index].astype(np.float32) / 16), tensor(bunch.target[index]))
