"""File streams for `gdlab fit` on a person's own file: the streamed test split, the scan's
least-squares moments, text class labels, delimiter sniffing, and malformed files refused
quickly with one clear message that names the file."""

from __future__ import annotations

import gzip
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from csv_files import write_csv
from gdlab.data import (
    CrossMoments,
    CSVStream,
    ParquetStream,
    RowSplit,
    _files,
    load_idx_pair,
    open_stream,
    read_idx,
    write_idx,
)
from gdlab.data._names import command_line
from gdlab.data.open import load_xy
from gdlab.errors import DataError, ParameterError


def _rows(stream):
    parts = list(stream.iter_chunks())
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# ---- the streamed split ---------------------------------------------------------------------

def test_row_split_is_a_function_of_row_and_seed():
    s = RowSplit(0.25, seed=3)
    whole = s.test_mask(0, 10_000)
    pieces = np.concatenate([s.test_mask(a, 137) for a in range(0, 10_000, 137)])[:10_000]
    np.testing.assert_array_equal(whole, pieces)
    assert 0.23 < whole.mean() < 0.27 and s.count_test(10_000) == whole.sum()
    assert not np.array_equal(whole, RowSplit(0.25, seed=4).test_mask(0, 10_000))
    assert not RowSplit(0.0).test_mask(0, 1000).any()
    for bad in (1.0, -0.1, "0.2", True):
        with pytest.raises(ParameterError):
            RowSplit(bad)


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_split_parts_are_disjoint_and_cover_the_file(tmp_path, kind, cache):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2500, 3))
    y = rng.normal(size=2500)
    if kind == "csv":
        path = write_csv(tmp_path / "d.csv", X, y)
        s = CSVStream(path, "y", test_fraction=0.3, seed=5, chunk_rows=300, cache=cache,
                      batch_size=64)
    else:
        path = tmp_path / "d.parquet"
        pq.write_table(pa.table({"x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2], "y": y}), path,
                       row_group_size=400)
        s = ParquetStream(path, "y", test_fraction=0.3, seed=5, chunk_rows=300, cache=cache,
                          batch_size=64)
    train, test = s.split()
    mask = RowSplit(0.3, seed=5).test_mask(0, 2500)
    Xtr, ytr = _rows(train)
    Xte, yte = _rows(test)
    np.testing.assert_array_equal(Xtr, X[~mask])
    np.testing.assert_array_equal(yte, y[mask])
    assert (train.n_samples, test.n_samples) == ((~mask).sum(), mask.sum())
    # every epoch of the training part sees exactly the training rows
    seen = np.concatenate([yb for _, yb in train.batches(1)])
    np.testing.assert_array_equal(np.sort(seen), np.sort(y[~mask]))
    # the statistics are those of each part (a standardizer never sees the test rows)
    np.testing.assert_allclose(train.feature_stats().mean, X[~mask].mean(axis=0))
    np.testing.assert_allclose(test.feature_stats().std, X[mask].std(axis=0))
    np.testing.assert_allclose(s.feature_stats().mean, X.mean(axis=0))
    with pytest.raises(ParameterError, match="test_fraction"):
        CSVStream(write_csv(tmp_path / "e.csv", X[:20], y[:20]), "y").split()


# ---- least squares from the scan ------------------------------------------------------------

def test_scan_moments_give_numpy_lstsq(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4000, 5)) * [1, 100, 0.01, 3, 1] + [1e4, 0, 5, -2, 0]
    y = X @ [2.0, -0.03, 50.0, 1.0, 0.0] + 3 + rng.normal(size=4000)
    path = write_csv(tmp_path / "d.csv", X, y)
    s = CSVStream(path, "y", moments=True, test_fraction=0.2, seed=2, chunk_rows=512)
    train, _ = s.split()
    m = train.moments()
    coef, intercept = m.least_squares()
    Xtr, ytr = _rows(train)
    A = np.column_stack([Xtr, np.ones(len(Xtr))])
    ref = np.linalg.lstsq(A, ytr, rcond=None)[0]
    np.testing.assert_allclose(coef, ref[:-1], rtol=1e-7, atol=1e-9)
    assert intercept == pytest.approx(ref[-1], rel=1e-6)
    resid = ytr - A @ ref
    r2 = 1 - resid @ resid / np.sum((ytr - ytr.mean()) ** 2)
    assert m.r2(coef, intercept) == pytest.approx(r2, abs=1e-12)
    assert m.n == len(ytr)
    whole = s.moments()
    assert whole.n == 4000 and CSVStream(path, "y").moments() is None


def test_moments_merge_equals_one_pass_and_skips_wide_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(300, 4)), rng.normal(size=300)
    one = CrossMoments(4).update(X, y)
    two = CrossMoments(4).update(X[:100], y[:100]).merge(CrossMoments(4).update(X[100:], y[100:]))
    np.testing.assert_allclose(one.cxx, two.cxx, atol=1e-10)
    np.testing.assert_allclose(one.least_squares()[0], two.least_squares()[0], atol=1e-12)
    from gdlab.data import moments
    monkeypatch.setattr(moments, "MAX_FEATURES", 3)
    s = CSVStream(write_csv(tmp_path / "w.csv", X, y), "y", moments=True)
    assert s.moments() is None and "4 features (computed for at most 3)" in s.moments_note


# ---- text class labels ----------------------------------------------------------------------

def test_text_labels_become_sorted_classes(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 2))
    labels = np.array(["dog", "cat", "bird"])[rng.integers(0, 3, 3000)]
    path = write_csv(tmp_path / "p.csv", X, labels, target="animal")
    for cache in (True, False):
        s = CSVStream(path, "animal", chunk_rows=700, cache=cache)
        assert list(s.classes) == ["bird", "cat", "dog"]
        _, y = _rows(s)
        np.testing.assert_array_equal(s.classes[y.astype(int)], labels)
    X2, y2, _, _ = load_xy(str(path), "animal")
    np.testing.assert_array_equal(y2, labels)
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "animal": labels}),
                   tmp_path / "p.parquet", row_group_size=1000)
    ps = ParquetStream(tmp_path / "p.parquet", "animal")
    assert list(ps.classes) == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(ps.classes[_rows(ps)[1].astype(int)], labels)


def test_text_in_features_or_an_empty_label_is_refused(tmp_path):
    (tmp_path / "f.csv").write_text("a,b,animal\n1,2,cat\n3,oops,dog\n")
    with pytest.raises(DataError, match=r"f.csv, row 2, column 'b': not a number: 'oops'"):
        CSVStream(tmp_path / "f.csv", "animal")
    (tmp_path / "e.csv").write_text("a,animal\n1,cat\n2,\n3,dog\n")
    with pytest.raises(DataError, match=r"row 2, column 'animal': empty cell"):
        CSVStream(tmp_path / "e.csv", "animal")
    # a numeric target with one typo stays numeric: the typo is named
    lines = ["a,y"] + [f"{i},{i * 0.5}" for i in range(40)]
    lines[12] = "11,5.5x"
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"row 12, column 'y': not a number: '5.5x'"):
        CSVStream(tmp_path / "t.csv", "y")


# ---- delimiters -----------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    X = np.arange(12.0).reshape(6, 2)
    path = write_csv(tmp_path / "d.csv", X, X.sum(axis=1), delimiter=delimiter)
    s = CSVStream(path, "y")
    assert s.delimiter == delimiter and s.columns == ["x1", "x2", "y"]
    np.testing.assert_array_equal(_rows(s)[0], X)


def test_delimiter_given_and_decimal_commas(tmp_path):
    (tmp_path / "d.csv").write_text("x1;x2;y\n1,5;2;3\n2;3;5\n")
    with pytest.raises(DataError, match=r"row 1, column 'x1': not a number: '1,5' \(a decimal "
                                         r"comma"):
        CSVStream(tmp_path / "d.csv", "y")
    (tmp_path / "c.csv").write_text("a;b,y\n1;2,3\n")
    assert CSVStream(tmp_path / "c.csv", "y", scan=False).columns == ["a;b", "y"]
    assert CSVStream(tmp_path / "c.csv", "b,y", delimiter=";", scan=False).columns == ["a", "b,y"]
    with pytest.raises(ParameterError, match="delimiter"):
        CSVStream(tmp_path / "c.csv", "y", delimiter=";;")


# ---- messages -------------------------------------------------------------------------------

def test_column_and_dataset_suggestions(tmp_path):
    path = write_csv(tmp_path / "d.csv", np.ones((3, 2)), [1, 2, 3])
    with pytest.raises(DataError, match=r"target='Y' names no column.*did you mean 'y'\?"):
        CSVStream(path, "Y")
    with command_line():
        with pytest.raises(DataError, match=r"--target 'Y' names no column.*did you mean 'y'\?"):
            CSVStream(path, "Y")
        with pytest.raises(ParameterError, match=r"give --target COLUMN \(columns: 'x1', 'x2'"):
            CSVStream(path)
        with pytest.raises(DataError, match=r"--features: 'x22' is no column.*did you mean "
                                            r"'x2'\?"):
            CSVStream(path, "y", features=["x1", "x22"])
        with pytest.raises(ParameterError, match=r"named 'iriss'; did you mean 'iris'\?") as e:
            open_stream("iriss")
        assert "arrays" not in str(e.value) and "BatchStream" not in str(e.value)
    with pytest.raises(ParameterError, match=r"did you mean 'iris'.*\(X, y\) pair of arrays"):
        open_stream("iriss")
    (tmp_path / "m.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"m.xlsx: cannot read this kind of file"):
        open_stream(str(tmp_path / "m.xlsx"))


def test_constant_columns_are_one_warning(tmp_path):
    from gdlab.data import ConstantColumnWarning, Standardizer
    X = np.column_stack([np.ones(20), np.arange(20.0), np.zeros(20), np.full(20, 2.0)])
    with pytest.warns(ConstantColumnWarning) as record:
        Standardizer().fit(X, feature_names=["a", "b", "c", "d"])
    assert len(record) == 1
    w = record[0].message
    assert w.columns == [0, 2, 3] and "3 columns are constant" in str(w) and "'d'" in str(w)


# ---- malformed files: refused fast, one message naming the file ----------------------------

def test_a_header_of_too_many_columns_is_refused_in_linear_time(tmp_path):
    n = _files.MAX_COLUMNS + 1
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{j}" for j in range(n)) + "\n" + ",".join(["1"] * n) + "\n")
    t = time.perf_counter()
    with pytest.raises(DataError, match=r"wide.csv: the header has 100,001 columns.*at most "
                                        r"100,000"):
        CSVStream(wide, "c1")
    assert time.perf_counter() - t < 5
    # under the limit, choosing columns is linear: 30,000 columns take well under a second
    names = [f"c{j}" for j in range(30_000)]
    t = time.perf_counter()
    feats, target, pos, tpos = _files.select_columns(names, "c7", None, "f.csv")
    assert time.perf_counter() - t < 1.0 and tpos == 7 and len(feats) == 29_999
    _files.select_columns(names, "c7", names[:7] + names[8:], "f.csv")
    assert time.perf_counter() - t < 2.0


def test_a_bad_cell_in_a_wide_file_is_found_with_few_parses(tmp_path):
    n = 20_000
    row = ["2.5"] * n
    row[19_000] = "oops"
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{j}" for j in range(n)) + "\n" + ",".join(["1"] * n) + "\n"
                    + ",".join(row) + "\n")
    t = time.perf_counter()
    with pytest.raises(DataError, match=r"wide.csv, row 2, column 'c19000': not a number"):
        CSVStream(path, "c0")
    assert time.perf_counter() - t < 10  # one parse per column took minutes


def test_fields_past_the_csv_field_limit(tmp_path):
    token = tmp_path / "token.csv"
    token.write_text("a" * 131_073 + "\n")
    with pytest.raises(DataError, match=r"token.csv: the header line has a field of 131,073 "
                                        r"characters"):
        CSVStream(token, "a")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('"' + "b" * 131_073 + '",y\n1,2\n')
    with pytest.raises(DataError, match=r"quoted.csv: the header line"):
        CSVStream(quoted, "y")
    line = tmp_path / "line.csv"
    line.write_text("a,b,y\n1,2,3\n" + "7" * 200_000 + "\n")
    with pytest.raises(DataError, match=r"line.csv, row 2: expected 3 fields.*found 1"):
        CSVStream(line, "y")


@pytest.mark.parametrize("offset, words", [(4, "thrift"), (60, "Corrupt snappy")])
def test_a_damaged_parquet_file_names_the_file_and_rows(tmp_path, offset, words):
    a = np.repeat(np.arange(300.0), 10)  # compressible: snappy's own blocks, not literals
    path = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"a": a, "y": 2 * a}), path, row_group_size=1000,
                   compression="snappy")
    raw = bytearray(path.read_bytes())
    for i in range(offset, offset + 8):
        raw[i] ^= 0xFF
    bad = tmp_path / "flip.parquet"
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=rf"flip.parquet: the file is damaged: row group 1 "
                                        rf"\(rows 1 to 1000\) cannot be decoded.*{words}"):
        ParquetStream(bad, "y")


def test_idx_headers_that_declare_huge_sizes(tmp_path):
    head = bytes([0, 0, 0x08, 3]) + np.array([4_000_000_000] * 3, ">u4").tobytes()
    (tmp_path / "huge.idx").write_bytes(head + bytes(100))
    with pytest.raises(DataError, match=r"huge.idx: truncated IDX file: dimensions"):
        read_idx(tmp_path / "huge.idx")
    head = bytes([0, 0, 0x0D, 2]) + np.array([60_000, 800_000], ">u4").tobytes()
    with gzip.open(tmp_path / "big.idx.gz", "wb") as f:
        f.write(head + bytes(1000))
    with pytest.raises(DataError, match=r"big.idx.gz: damaged IDX header.*gzip file"):
        read_idx(tmp_path / "big.idx.gz")
    head = bytes([0, 0, 0x08, 1]) + np.array([10], ">u4").tobytes()
    (tmp_path / "short.idx").write_bytes(head + bytes(5))
    with pytest.raises(DataError, match=r"short.idx: truncated.*need 10 bytes.*has 5"):
        read_idx(tmp_path / "short.idx")


def test_idx_float_images_with_nan_name_the_file(tmp_path):
    images = np.random.default_rng(0).random((10, 4, 4)).astype(np.float32)
    images[5, 1, 1] = np.nan
    write_idx(tmp_path / "img.idx", images)
    write_idx(tmp_path / "lab.idx", np.arange(10, dtype=np.uint8))
    with pytest.raises(DataError, match=r"img.idx, row 6, column 'x6': image 6, value 6 is "
                                        r"NaN"):
        load_idx_pair(tmp_path / "img.idx", tmp_path / "lab.idx")
    labels = np.arange(10.0)
    labels[3] = np.inf
    write_idx(tmp_path / "flab.idx", labels)
    images[5, 1, 1] = 0
    write_idx(tmp_path / "img.idx", images)
    with pytest.raises(DataError, match=r"flab.idx, row 4: label 4 is inf"):
        load_idx_pair(tmp_path / "img.idx", tmp_path / "flab.idx")
