"""download_fashion_mnist.py on tiny IDX files: the course's split and scaling, and failures."""
import gzip
import struct

import numpy as np
import pytest

import download_fashion_mnist as dfm
import utils

SMALL, N_DEV = {"train": 30, "test": 12}, 10  # stand-ins for dfm.COUNTS and dfm.N_DEV
SRC, (IMAGES, LABELS) = ["--source", "src"], dfm.FILES["train"]


def idx(array):
    """The gzip-compressed IDX file of uint8 images (n, 784), as (n, 28, 28), or labels (n,)."""
    head = [2051, len(array), 28, 28] if array.ndim == 2 else [2049, len(array)]  # magic, sizes
    return gzip.compress(struct.pack(f">{len(head)}i", *head) + array.tobytes())


def make_src(folder):
    """The four files in `folder`, of random content: {split: (images (n, 784), labels (n,))}."""
    folder.mkdir(parents=True, exist_ok=True)
    rng, raw = np.random.default_rng(0), {}
    for split, n in SMALL.items():
        raw[split] = rng.integers(0, 256, (n, 784), np.uint8), rng.integers(0, 10, n, np.uint8)
        for name, array in zip(dfm.FILES[split], raw[split]):
            (folder / name).write_bytes(idx(array))
    return raw


def run(tmp_path, monkeypatch, argv, fashion_mnist):
    """main(argv) in tmp_path, SMALL: None, or the line Python prints as it exits with status 1."""
    monkeypatch.chdir(tmp_path)
    for name, value in (("COUNTS", SMALL), ("N_DEV", N_DEV), ("FashionMNIST", fashion_mnist)):
        monkeypatch.setattr(dfm, name, value)
    with pytest.raises(SystemExit) as exit_:
        utils.run_main(lambda: dfm.main([str(a) for a in argv]))
    return exit_.value.code


@pytest.mark.parametrize("argv", [["--source", "src"], ["--root", "data"]])
def test_the_arrays_are_the_files_split_and_scaled(tmp_path, monkeypatch, argv):
    assert (dfm.COUNTS, dfm.N_DEV, dfm.SPLIT_SEED) == ({"train": 60000, "test": 10000}, 10000, 42)
    (images, labels), (test_images, test_labels) = make_src(tmp_path / "src").values()
    download = lambda root, **_: make_src(tmp_path / root / "FashionMNIST" / "raw")  # noqa: E731
    assert run(tmp_path, monkeypatch, [*argv, "--output", "src/fm.npz"], download) is None
    dev, train = np.split(np.random.RandomState(42).permutation(30), [N_DEV])
    want = {"Xtrain": images[train], "ytrain": labels[train], "Xdev": images[dev],
            "ydev": labels[dev], "Xtest": test_images, "ytest": test_labels}  # test in order
    with np.load(tmp_path / "src" / "fm.npz") as npz:
        assert [npz[k].dtype for k in want] == [np.float64, np.int64] * 3
        assert all(np.array_equal(npz[k] * (256 if k[0] == "X" else 1), v) for k, v in want.items())


FAILURES = {  # case: (argv, a file of src/, its new content from the old (bytes: same), words)
    "missing": (["--source", "."], IMAGES, bytes, "train-images-idx3-ubyte.gz is missing"),
    "cut_download": (SRC, IMAGES, lambda gz: gz[:999], "not a valid gzip"),
    "cut_data": (SRC, IMAGES, lambda gz: gzip.compress(gzip.decompress(gz)[:-9]), "truncated"),
    "swapped": (SRC, IMAGES, lambda gz: idx(np.zeros(30, np.uint8)), "swapped"),
    "count": (SRC, LABELS, lambda gz: idx(np.zeros(29, np.uint8)), "29 items, expected 30"),
    "label_10": (SRC, LABELS, lambda gz: idx(np.full(30, 10, np.uint8)), "labels 0-9"),
    "output_is_a_folder": ([*SRC, "--output", "src"], IMAGES, bytes, "cannot write src"),
    "no_network": (["--root", "data"], IMAGES, bytes, "train.gz: Tried http://x, got: <urlopen"),
    "no_network_in_an_existing_root": (["--root", "."], IMAGES, bytes, "RuntimeError"),
}


@pytest.mark.parametrize("case", FAILURES)
def test_a_failure_is_one_line_and_leaves_no_file_or_folder(tmp_path, monkeypatch, case):
    argv, name, content, words = FAILURES[case]
    def fail(root, **_):  # torchvision offline: its folder and a file, then the error
        make_src(tmp_path / root / "FashionMNIST" / "raw")
        raise RuntimeError("Error downloading train.gz:\nTried http://x, got:\n<urlopen error>\n")
    make_src(src := tmp_path / "src")
    (src / name).write_bytes(content((src / name).read_bytes()))
    before = sorted(tmp_path.rglob("*"))
    message = run(tmp_path, monkeypatch, ["--output", "fm.npz", *argv], fail)
    assert message.startswith("error: ") and "\n" not in message and words in message, message
    assert sorted(tmp_path.rglob("*")) == before
