#!/usr/bin/env python
"""Build Fashion-MNIST.npz in the layout the course distributed.

    python download_fashion_mnist.py                  # online, via torchvision's downloader
    python download_fashion_mnist.py --source DIR     # offline, from the four IDX .gz files

Keys: Xtrain, ytrain (50,000), Xdev, ydev (10,000), Xtest, ytest (10,000, in the official order);
X float64 (n, 784) holding pixel / 256, y int64. The course split the official training images
with scikit-learn's train_test_split(test_size=10000, random_state=42): the first 10,000 of
RandomState(42).permutation(60000) are dev, the rest train. The files are checked by content,
not by the MD5 of their compressed bytes (a re-compressed copy holds the same images).
"""
import argparse
import gzip
import math
import os
import shutil
import zlib

import numpy as np
from torchvision.datasets import FashionMNIST

import utils
from utils import UserError

FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
COUNTS = {"train": 60000, "test": 10000}  # items in each split's files
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
N_DEV, SPLIT_SEED = 10000, 42


def read_idx(path, count):
    """The uint8 images (count, 28, 28) or labels (count,) of a gzip-compressed IDX file."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (FileNotFoundError, NotADirectoryError):
        raise UserError(f"{path} is missing") from None
    except (OSError, EOFError, zlib.error) as exc:  # not gzip, or its compressed bytes cut short
        raise UserError(f"{path} is not a valid gzip file ({exc}); replace it with a fresh "
                        "copy") from None
    magic = int.from_bytes(raw[:4], "big")
    if magic not in (IMAGE_MAGIC, LABEL_MAGIC):
        raise UserError(f"{path} is not an IDX image or label file (magic number {magic})")
    header = 16 if magic == IMAGE_MAGIC else 8  # the magic number, then one int32 per dimension
    if len(raw) < header:
        raise UserError(f"{path} is truncated (short IDX header); replace it with a fresh copy")
    shape = tuple(int(n) for n in np.frombuffer(raw[4:header], ">i4"))
    if shape[1:] not in ((), (28, 28)):
        raise UserError(f"{path} holds {shape[1]}x{shape[2]} images, expected 28x28")
    if shape[0] != count:
        raise UserError(f"{path} holds {shape[0]} items, expected {count}")
    if len(raw) - header != math.prod(shape):
        raise UserError(f"{path} is truncated or padded: {len(raw) - header} bytes of data for "
                        f"{count} items; replace it with a fresh copy")
    array = np.frombuffer(raw, np.uint8, offset=header).reshape(shape)
    if magic == LABEL_MAGIC and array.max(initial=0) > 9:
        raise UserError(f"{path} holds label {array.max()}, expected labels 0-9")
    return array


def read_folder(folder, counts):
    """{"train": (images, labels), "test": ...} from the four checked files in `folder`, with
    counts[split] items in each split's files."""
    out = {}
    for split, names in FILES.items():
        images, labels = (read_idx(os.path.join(folder, name), counts[split]) for name in names)
        if images.ndim != 3 or labels.ndim != 1:
            raise UserError(f"{folder}: the {split} image and label files are swapped")
        out[split] = images, labels
    return out


def build_arrays(raw, n_dev, seed=SPLIT_SEED):
    """The course's six arrays from {"train": (images, labels), "test": ...} (uint8 (n, 28, 28)
    and (n,)): X float64 (n, 784) of pixel / 256, y int64 (n,). Dev is the first n_dev of a
    RandomState(seed) permutation of the training images, train the rest, as train_test_split."""
    perm = np.random.RandomState(seed).permutation(len(raw["train"][1]))
    parts = {"train": (raw["train"], perm[n_dev:]), "dev": (raw["train"], perm[:n_dev]),
             "test": (raw["test"], slice(None))}
    arrays = {}
    for name, ((images, labels), rows) in parts.items():
        arrays["X" + name] = images[rows].reshape(-1, 784).astype(np.float64) / 256
        arrays["y" + name] = labels[rows].astype(np.int64)
    return arrays


def download(root):
    """Fetch the official files into root/FashionMNIST/raw with torchvision's downloader (mirrors,
    MD5 checks) and return that folder; on failure, remove the folders it created."""
    folder = os.path.join(root, "FashionMNIST", "raw")
    created, path = None, os.path.abspath(folder)
    while not os.path.exists(path):  # the topmost folder that the download will create
        created, path = path, os.path.dirname(path)
    try:
        for train in (True, False):
            FashionMNIST(root=root, train=train, download=True)
    except BaseException as exc:
        if created:
            shutil.rmtree(created, ignore_errors=True)
        if isinstance(exc, Exception):  # torchvision's RuntimeError when every mirror fails
            raise UserError(f"download failed ({type(exc).__name__}: {' '.join(str(exc).split())}"
                            "); check the network, or build offline with --source DIR") from None
        raise
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", metavar="DIR",
                        help="folder with the four IDX .gz files (offline; no network needed)")
    parser.add_argument("--root", default=os.path.join(utils.ROOT, "data"),
                        help="where the online download keeps the raw files")
    parser.add_argument("--output", default=utils.FASHION_PATH, help="the .npz to write")
    args = parser.parse_args(argv)
    arrays = build_arrays(read_folder(args.source or download(args.root), COUNTS), N_DEV)
    try:
        utils.write_atomically(args.output, lambda f: np.savez_compressed(f, **arrays))
    except OSError as exc:  # the output is a folder, in a missing folder, or the disk is full
        raise UserError(f"cannot write {args.output} ({exc.strerror or exc}); fix: pass a "
                        "writable file path with --output") from None
    sizes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items() if k.startswith("X"))
    print(f"wrote {args.output}: {sizes}")


if __name__ == "__main__":
    utils.run_main(main)
