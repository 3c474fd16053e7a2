#!/usr/bin/env python
"""Build Fashion-MNIST.npz in the layout the course distributed.

    python download_fashion_mnist.py                      # online, via torchvision's downloader
    python download_fashion_mnist.py --source DIR         # offline, from the four IDX .gz files

Output keys: Xtrain, ytrain (50,000), Xdev, ydev (10,000), Xtest, ytest (10,000); X float64
(n, 784) holding pixel / 256, y int64. The course split the 60,000 official training images with
scikit-learn's train_test_split(train_size=50000, test_size=10000, random_state=42); that function
draws `RandomState(42).permutation(60000)` and takes the first 10,000 indices as its test part
(our dev set) and the next 50,000 as its train part, which `split_train_dev` reproduces with
numpy alone. The official test images keep their official order.

A local copy is checked by content (IDX magic numbers, counts, shapes, label range), not by the
MD5 of the compressed bytes: a losslessly re-compressed copy has other bytes but the same images.
"""
import gzip
import os
import sys
import zlib

import utils  # first: Ctrl-C while numpy loads ends with one line
from utils import FASHION_PATH, ROOT, UserError, atomic_file, run_main
import numpy as np

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
COUNTS = {"train": 60000, "test": 10000}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
N_DEV, SPLIT_SEED = 10000, 42


class DatasetError(Exception):
    """Bad input data; the message names the file and the fix."""


def read_idx(path, expected_count=None):
    """Read a gzip-compressed IDX file of images (n, 28, 28) or labels (n,), both uint8."""
    name = os.path.basename(path)
    if not os.path.isfile(path):
        raise DatasetError(f"{path} is missing")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path} is not a valid gzip file ({exc}); replace it with a fresh copy")
    if len(raw) < 8:
        raise DatasetError(f"{path} is truncated (no IDX header); replace it with a fresh copy")
    magic, count = np.frombuffer(raw[:8], dtype=">i4")
    if magic == IMAGE_MAGIC:
        header = 16
        if len(raw) < header:
            raise DatasetError(f"{path} is truncated (short IDX header)")
        rows, cols = np.frombuffer(raw[8:16], dtype=">i4")
        if (rows, cols) != (28, 28):
            raise DatasetError(f"{path} holds {rows}x{cols} images, expected 28x28")
        shape = (count, 28, 28)
    elif magic == LABEL_MAGIC:
        header, shape = 8, (count,)
    else:
        raise DatasetError(f"{path} is not an IDX image or label file (magic number {magic})")
    if expected_count is not None and count != expected_count:
        raise DatasetError(f"{path} holds {count} items, expected {expected_count}")
    body = raw[header:]
    if len(body) != int(np.prod(shape)):
        raise DatasetError(f"{path} is truncated or padded: {len(body)} bytes of data for "
                           f"{count} items; replace it with a fresh copy")
    array = np.frombuffer(body, dtype=np.uint8).reshape(shape)
    if magic == LABEL_MAGIC and array.max(initial=0) > 9:
        raise DatasetError(f"{name} holds label {array.max()}, expected labels 0-9")
    return array


def read_folder(folder, counts=COUNTS):
    """Read and check the four files in `folder`: {"train": (images, labels), "test": ...}."""
    if not os.path.isdir(folder):
        raise DatasetError(f"{folder} is not a folder; pass the folder holding the four "
                           f"Fashion-MNIST .gz files ({', '.join(FILES.values())})")
    out = {}
    for split, count in counts.items():
        images = read_idx(os.path.join(folder, FILES[split + "_images"]), count)
        labels = read_idx(os.path.join(folder, FILES[split + "_labels"]), count)
        if images.ndim != 3 or labels.ndim != 1:
            raise DatasetError(f"{folder}: the {split} image and label files are swapped")
        out[split] = (images, labels)
    return out


def split_train_dev(n, n_dev=N_DEV, seed=SPLIT_SEED):
    """Indices (train, dev) of scikit-learn's train_test_split(test_size=n_dev,
    random_state=seed): the course's split, without the library."""
    perm = np.random.RandomState(seed).permutation(n)
    return perm[n_dev:], perm[:n_dev]


def build_arrays(raw, n_dev=N_DEV):
    """From {"train": (images, labels), "test": ...} to the course's six arrays."""
    def features(images):
        return images.reshape(len(images), -1).astype(np.float64) / 256

    train_images, train_labels = raw["train"]
    test_images, test_labels = raw["test"]
    train_idx, dev_idx = split_train_dev(len(train_labels), n_dev)
    return {
        "Xtrain": features(train_images[train_idx]),
        "ytrain": train_labels[train_idx].astype(np.int64),
        "Xdev": features(train_images[dev_idx]), "ydev": train_labels[dev_idx].astype(np.int64),
        "Xtest": features(test_images), "ytest": test_labels.astype(np.int64),
    }


def save_npz_atomically(path, arrays):
    """np.savez_compressed through a temporary file and a rename: never a half-written npz."""
    with atomic_file(path) as f:
        np.savez_compressed(f, **arrays)


def download(root):
    """Fetch the official files with torchvision's downloader (mirrors, MD5 checks, progress)."""
    try:
        from torchvision.datasets import FashionMNIST
    except ImportError:
        raise DatasetError("torchvision is not installed; run: pip install -r requirements.txt "
                           "(or build offline with --source DIR)")
    try:
        FashionMNIST(root=root, train=True, download=True)
        FashionMNIST(root=root, train=False, download=True)
    except Exception as exc:  # torchvision raises RuntimeError/URLError/OSError on network trouble
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise DatasetError(f"download failed ({type(exc).__name__}: {first_line}); check the "
                           "network, or build offline with --source DIR holding the four .gz files")
    return os.path.join(root, "FashionMNIST", "raw")


def main(argv=None):
    parser = utils.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--source", metavar="DIR",
                        help="folder with the four IDX .gz files (offline; no network needed)")
    parser.add_argument("--root", default=os.path.join(ROOT, "data"),
                        help="where the online download keeps the raw files")
    parser.add_argument("--output", default=FASHION_PATH, help="the .npz to write")
    args = parser.parse_args(argv)
    try:
        folder = args.source if args.source else download(args.root)
        arrays = build_arrays(read_folder(folder))
        save_npz_atomically(args.output, arrays)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OSError, UserError) as exc:  # the output: a folder, no permission, disk full
        print(f"error: cannot write {args.output} ({getattr(exc, 'strerror', None) or exc}); "
              "fix: pass a writable file path with --output", file=sys.stderr)
        return 1
    sizes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items() if k.startswith("X"))
    print(f"wrote {args.output}: {sizes}")
    return 0


if __name__ == "__main__":
    run_main(main)  # Ctrl-C: one line, exit status 130
