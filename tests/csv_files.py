"""A test helper (not a test module): CSV files written from arrays."""

from __future__ import annotations


def write_csv(path, X, y, names=None, target="y", delimiter=","):
    """Write a header (``names``, default x1..xd, then ``target``) and one row per sample
    (features as ``repr`` of floats, the target as given); returns the path as text."""
    names = names or [f"x{j + 1}" for j in range(X.shape[1])]
    with open(path, "w") as f:
        f.write(delimiter.join([*names, target]) + "\n")
        for row, t in zip(X, y):
            f.write(delimiter.join(repr(float(v)) for v in row) + f"{delimiter}{t}\n")
    return str(path)
