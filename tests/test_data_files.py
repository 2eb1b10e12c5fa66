"""gdlab.data file streams: CSV and Parquet, same batches as arrays, validation, memory."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gdlab.data import ArrayStream, CSVStream, ParquetStream, Standardizer, open_stream
from gdlab.errors import DataError, ParameterError


def _data(n=500, p=3, seed=0):
    rng = np.random.default_rng(seed)
    scale = np.array([1, 10, 0.1, 3])[np.arange(p) % 4]
    return rng.standard_normal((n, p)) * scale, rng.standard_normal(n)


def _write_csv(path, X, y, names=None, line_end="\n", trailing_newline=True):
    names = names or [f"x{j + 1}" for j in range(X.shape[1])] + ["y"]
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([X, y]), delimiter=",", header=",".join(names), comments="",
               newline=line_end)
    text = buf.getvalue()
    if not trailing_newline:
        text = text[:-len(line_end)]
    path.write_bytes(text.encode())
    return path


def _write_parquet(path, X, y, row_group_size, names=None):
    names = names or [f"x{j + 1}" for j in range(X.shape[1])] + ["y"]
    cols = [X[:, j] for j in range(X.shape[1])] + [y]
    pq.write_table(pa.table(dict(zip(names, cols))), path, row_group_size=row_group_size)
    return path


def _assert_same(a, b, epochs=(0, 1, 2)):
    assert a.n_batches() == b.n_batches()
    for e in epochs:
        A, B = list(a.batches(e)), list(b.batches(e))
        assert len(A) == len(B) == a.n_batches()
        for (xa, ya), (xb, yb) in zip(A, B):
            assert xa.dtype == xb.dtype and xa.shape == xb.shape
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)  # bitwise


# -- same batches as ArrayStream ---------------------------------------------------------

@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [16, None])
@pytest.mark.parametrize("cache", [True, False])
def test_csv_equals_array(tmp_path, shuffle, batch_size, cache):
    X, y = _data()
    p = _write_csv(tmp_path / "d.csv", X, y)
    kw = dict(batch_size=batch_size, shuffle=shuffle, seed=11, chunk_rows=37, buffer_chunks=3)
    c = CSVStream(p, target="y", cache=cache, **kw)
    assert c.n_samples == 500 and c.feature_names == ["x1", "x2", "x3"] and c.n_chunks == 14
    assert (c._row_cache is not None) == cache
    _assert_same(ArrayStream(X, y, **kw), c)


def test_csv_cache_is_unnamed_and_optional(tmp_path, monkeypatch):
    """The cache lives in an unnamed file (nothing left behind, even after a kill); a full
    disk drops it and the text is parsed again, with the same batches; close() drops it."""
    X, y = _data(300)
    p = _write_csv(tmp_path / "d.csv", X, y)
    kw = dict(batch_size=32, seed=3, chunk_rows=50, buffer_chunks=2)
    folder = tmp_path / "cache"
    folder.mkdir()
    c = CSVStream(p, target="y", cache_dir=folder, dtype=np.float32, **kw)
    assert c._row_cache is not None and os.listdir(folder) == []
    ref = ArrayStream(X.astype(np.float32), y.astype(np.float32), **kw)
    _assert_same(ref, c)
    c.close()
    assert c._row_cache is None
    _assert_same(ref, c, epochs=(1,))
    if os.path.exists("/dev/full"):  # writes fail with ENOSPC, as on a full disk
        import tempfile
        monkeypatch.setattr(tempfile, "TemporaryFile",
                            lambda **kw: open("/dev/full", "wb", buffering=0))
        full = CSVStream(p, target="y", dtype=np.float32, **kw)
        assert full._row_cache is None
        _assert_same(ref, full)
    with pytest.raises(ParameterError, match="cache_dir"):
        CSVStream(p, target="y", cache_dir=tmp_path / "nowhere")
    with pytest.raises(ParameterError, match="cache"):
        CSVStream(p, target="y", cache="yes")


def test_csv_lines_longer_than_the_scan_block(tmp_path, monkeypatch):
    import gdlab.data.csv_stream as cs
    monkeypatch.setattr(cs, "_SCAN_BLOCK", 64)
    X, y = _data(200, p=12, seed=4)
    p = _write_csv(tmp_path / "wide.csv", X, y)  # lines of ~300 bytes
    kw = dict(batch_size=7, seed=1, chunk_rows=9, buffer_chunks=2)
    c = CSVStream(p, target="y", **kw)
    assert c.n_samples == 200
    _assert_same(ArrayStream(X, y, **kw), c)
    _assert_same(ArrayStream(X, y, **kw), CSVStream(p, target="y", cache=False, **kw))


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("row_group_size,chunk_rows,cache", [(37, None, True), (37, 37, False),
                                                             (50, 37, True), (50, 37, False)])
def test_parquet_equals_array(tmp_path, shuffle, row_group_size, chunk_rows, cache):
    X, y = _data()
    p = _write_parquet(tmp_path / "d.parquet", X, y, row_group_size)
    kw = dict(batch_size=16, shuffle=shuffle, seed=11, buffer_chunks=3)
    s = ParquetStream(p, target="y", chunk_rows=chunk_rows, cache=cache, **kw)
    assert (s._row_cache is not None) == cache
    if chunk_rows is None:  # the cache makes chunks independent of row groups
        assert s.chunk_rows == 65536  # about 2 MiB of 4 float64 columns
        s = ParquetStream(p, target="y", chunk_rows=37, cache=cache, **kw)
    assert s.chunk_rows == 37
    _assert_same(ArrayStream(X, y, chunk_rows=37, **kw), s)


def test_float32_and_feature_selection(tmp_path):
    X, y = _data(200)
    p = _write_csv(tmp_path / "d.csv", X, y)
    kw = dict(batch_size=32, seed=3, chunk_rows=20, buffer_chunks=2)
    c = CSVStream(p, target="y", features=["x3", "x1"], dtype=np.float32, **kw)
    a = ArrayStream(X[:, [2, 0]].astype(np.float32), y.astype(np.float32),
                    feature_names=["x3", "x1"], **kw)
    _assert_same(a, c)
    q = _write_parquet(tmp_path / "d.parquet", X, y, 20)
    _assert_same(a, ParquetStream(q, "y", features=["x3", "x1"], dtype=np.float32, **kw))


def test_csv_line_endings_and_blank_lines(tmp_path):
    X, y = _data(100)
    ref = list(ArrayStream(X, y, batch_size=9, seed=1, chunk_rows=10).batches(1))
    variants = {
        "crlf.csv": _write_csv(tmp_path / "crlf.csv", X, y, line_end="\r\n"),
        "nonl.csv": _write_csv(tmp_path / "nonl.csv", X, y, trailing_newline=False),
    }
    text = (tmp_path / "nonl.csv").read_text()
    lines = text.split("\n")
    lines.insert(30, "")  # blank lines are not rows
    (tmp_path / "blank.csv").write_text("\ufeff" + "\n".join(lines) + "\n\n\n")
    variants["blank.csv"] = tmp_path / "blank.csv"
    for name, p in variants.items():
        c = CSVStream(p, target="y", batch_size=9, seed=1, chunk_rows=10)
        assert c.n_samples == 100, name
        for (xa, ya), (xb, yb) in zip(ref, c.batches(1)):
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb), name


def test_csv_extra_text_columns_and_quotes(tmp_path):
    rows = ["id,x1,note,y"] + [f'{i},{i * 0.5},"text, with comma {i}",{i * 2}' for i in range(50)]
    p = tmp_path / "q.csv"
    p.write_text("\n".join(rows) + "\n")
    c = CSVStream(p, target="y", features=["x1"], batch_size=None, chunk_rows=7)
    X = np.concatenate([b[0] for b in c.batches(0)])
    np.testing.assert_array_equal(X[:, 0], np.arange(50) * 0.5)
    with pytest.raises(DataError, match="not a number") as ei:
        CSVStream(p, target="y")  # 'note' is a feature by default
    assert ei.value.row == 1 and ei.value.column == "note"


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_file_start_resumes(tmp_path, kind):
    X, y = _data(300)
    if kind == "csv":
        s = CSVStream(_write_csv(tmp_path / "d.csv", X, y), "y", batch_size=16, seed=2,
                      chunk_rows=37, buffer_chunks=3)
    else:
        s = ParquetStream(_write_parquet(tmp_path / "d.pq", X, y, 37), "y", batch_size=16,
                          seed=2, buffer_chunks=3)
    full = list(s.batches(1))
    for k in (0, 1, 6, 7, 18, 19, 25):
        tail = list(s.batches(1, start=k))
        assert len(tail) == len(full[k:])
        for (xa, ya), (xb, yb) in zip(tail, full[k:]):
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


# -- statistics and standardizer ----------------------------------------------------------

def test_scan_statistics_match_numpy(tmp_path):
    X, y = _data(3000, p=4, seed=5)
    X[:, 3] += 1e4
    p = _write_csv(tmp_path / "d.csv", X, y)
    c = CSVStream(p, target="y", chunk_rows=64)
    q = ParquetStream(_write_parquet(tmp_path / "d.pq", X, y, 100), "y")
    for s in (c, q):
        st = Standardizer().fit_stream(s)
        np.testing.assert_allclose(st.mean_, X.mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(st.std_, X.std(axis=0), rtol=1e-10)
        t = s.target_stats()
        np.testing.assert_allclose([t.mean[0], t.std[0]], [y.mean(), y.std()], rtol=1e-10)


def test_standardized_file_batches_equal_array(tmp_path):
    X, y = _data(200)
    st = Standardizer().fit(X)
    kw = dict(batch_size=25, seed=4, chunk_rows=30, buffer_chunks=2, standardizer=st)
    c = CSVStream(_write_csv(tmp_path / "d.csv", X, y), "y", **kw)
    _assert_same(ArrayStream(X, y, **kw), c, epochs=(0,))


def test_constant_csv_column_warns(tmp_path):
    X, y = _data(100)
    X[:, 0] = 3.0
    c = CSVStream(_write_csv(tmp_path / "d.csv", X, y), "y", chunk_rows=9)
    from gdlab.data import ConstantColumnWarning
    with pytest.warns(ConstantColumnWarning, match="'x1'"):
        st = c.fit_standardizer()
    assert st.scale_[0] == 1.0
    assert np.all(next(c.batches(0))[0][:, 0] == 0)


# -- bad CSV data ---------------------------------------------------------------------------

def _big_csv(path, n=10_000, bad_row=None, bad_col=None, value=None, ragged=False):
    rng = np.random.default_rng(0)
    vals = rng.standard_normal((n, 5))
    lines = ["x1,x2,x3,x4,y"]
    for i in range(n):
        fields = [repr(float(v)) for v in vals[i]]
        if i + 1 == bad_row:
            if ragged:
                fields.append("1.0")
            else:
                fields[bad_col] = value
        lines.append(",".join(fields))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("value,message", [
    ("abc", "not a number: 'abc'"), ("", "empty cell"), ("nan", "NaN"), ("NaN", "NaN"),
    ("inf", "inf"), ("-inf", "-inf"), ("NA", "not a number: 'NA'"), ("1,5", "fields")])
def test_csv_bad_value_deep_in_file(tmp_path, value, message):
    p = _big_csv(tmp_path / "bad.csv", bad_row=5000, bad_col=2, value=value)
    with pytest.raises(DataError) as ei:
        CSVStream(p, target="y", chunk_rows=1000)
    text = str(ei.value)
    assert "bad.csv" in text and "row 5000" in text and message in text
    if value != "1,5":  # a ragged row names no column
        assert "x3" in text and ei.value.column == "x3"
    assert ei.value.row == 5000 and ei.value.file.endswith("bad.csv")


def test_csv_ragged_row(tmp_path):
    p = _big_csv(tmp_path / "r.csv", n=3000, bad_row=2999, ragged=True)
    with pytest.raises(DataError, match=r"row 2999.*expected 5 fields.*found 6"):
        CSVStream(p, target="y")
    short = tmp_path / "short.csv"
    short.write_text("a,b,y\n1,2,3\n4,5\n")
    with pytest.raises(DataError, match=r"row 2.*expected 3 fields.*found 2"):
        CSVStream(short, target="y")


def test_csv_target_and_structure_errors(tmp_path):
    p = _write_csv(tmp_path / "d.csv", *_data(10))
    with pytest.raises(DataError, match=r"'price'.*columns: 'x1', 'x2', 'x3', 'y'"):
        CSVStream(p, target="price")
    with pytest.raises(DataError, match="'x9'"):
        CSVStream(p, target="y", features=["x1", "x9"])
    with pytest.raises(ParameterError, match=r"target=COLUMN \(columns: 'x1', 'x2'"):
        CSVStream(p)
    with pytest.raises(ParameterError):
        CSVStream(p, target="y", features=["y"])
    with pytest.raises(ParameterError):
        CSVStream(p, target="y", dtype=np.int32)
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match="empty") as ei:
        CSVStream(tmp_path / "empty.csv", target="y")
    assert "empty.csv" in str(ei.value)
    (tmp_path / "head.csv").write_text("x1,x2,y\n")
    with pytest.raises(DataError, match="no data rows"):
        CSVStream(tmp_path / "head.csv", target="y")
    (tmp_path / "head2.csv").write_text("x1,x2,y\n\n\n")
    with pytest.raises(DataError, match="no data rows"):
        CSVStream(tmp_path / "head2.csv", target="y")
    with pytest.raises(DataError, match="not found"):
        CSVStream(tmp_path / "missing.csv", target="y")
    (tmp_path / "ml.csv").write_text('x1,note,y\n1,"two\nlines",3\n')
    with pytest.raises(DataError, match=r"row 1.*quoted"):
        CSVStream(tmp_path / "ml.csv", target="y", features=["x1"])
    (tmp_path / "cr.csv").write_bytes(b"x1,y\n1,2\n3,4\r5,6\n")
    with pytest.raises(DataError, match=r"row 2.*carriage return"):
        CSVStream(tmp_path / "cr.csv", target="y")


def test_csv_file_changed_after_scan(tmp_path):
    X, y = _data(50)
    p = _write_csv(tmp_path / "d.csv", X, y)
    c = CSVStream(p, target="y", batch_size=10)
    with open(p, "a") as f:
        f.write("1,2,3,4\n")
    with pytest.raises(DataError, match="changed"):
        list(c.batches(0))


def test_open_stream_files(tmp_path):
    X, y = _data(60)
    p = _write_csv(tmp_path / "d.csv", X, y)
    s = open_stream(p, target="y", batch_size=8)
    assert isinstance(s, CSVStream) and s.n_batches() == 8
    q = _write_parquet(tmp_path / "d.parquet", X, y, 20)
    s = open_stream(str(q), "y", batch_size=8)
    assert isinstance(s, ParquetStream) and s.n_samples == 60
    t = tmp_path / "d.tsv"
    t.write_text(p.read_text().replace(",", "\t"))
    s = open_stream(t, target="y", shuffle=False, batch_size=60)
    np.testing.assert_array_equal(next(s.batches(0))[0], X)


# -- bad Parquet data ------------------------------------------------------------------------

def test_parquet_errors(tmp_path):
    p = tmp_path / "s.parquet"
    pq.write_table(pa.table({"x1": [1.0, 2.0], "name": ["a", "b"], "y": [0.0, 1.0]}), p)
    with pytest.raises(DataError, match=r"column 'name'.*not numeric"):
        ParquetStream(p, target="y")
    ParquetStream(p, target="y", features=["x1"])  # the text column is simply not used
    n = tmp_path / "n.parquet"
    x2 = [float(i) for i in range(100)]
    x2[76] = None
    pq.write_table(pa.table({"x1": np.arange(100.0), "x2": x2, "y": np.zeros(100)}), n,
                   row_group_size=30)
    with pytest.raises(DataError, match=r"n.parquet, row 77, column 'x2': missing value"):
        ParquetStream(n, target="y")
    f = tmp_path / "f.parquet"
    x1 = np.arange(100.0)
    x1[41] = np.inf
    pq.write_table(pa.table({"x1": x1, "y": np.zeros(100)}), f, row_group_size=30)
    with pytest.raises(DataError, match=r"row 42, column 'x1': value is inf"):
        ParquetStream(f, target="y")
    with pytest.raises(DataError, match=r"target='price' names no column.*columns: 'x1', 'y'"):
        ParquetStream(f, target="price")
    e = tmp_path / "e.parquet"
    pq.write_table(pa.table({"x1": pa.array([], pa.float64()), "y": pa.array([], pa.float64())}), e)
    with pytest.raises(DataError, match="no data rows"):
        ParquetStream(e, target="y")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="junk.parquet"):
        ParquetStream(junk, target="y")


def test_parquet_integer_and_bool_columns(tmp_path):
    p = tmp_path / "i.parquet"
    pq.write_table(pa.table({"a": np.arange(10, dtype=np.int32), "b": [True, False] * 5,
                             "y": np.arange(10)}), p, row_group_size=4)
    s = ParquetStream(p, "y", shuffle=False, batch_size=10)
    X, y = next(s.batches(0))
    assert (X.dtype == np.float64 and X[:, 1].tolist() == [1, 0] * 5
            and y.tolist() == list(range(10)))


# -- bounded memory --------------------------------------------------------------------------

def test_csv_memory_is_bounded(tmp_path):
    """Scan + one shuffled epoch of a ~100 MB CSV: peak memory well below the file size and
    under a fixed bound (it depends on the scan block and the shuffle buffer, not the file)."""
    rng = np.random.default_rng(0)
    block = io.StringIO()
    np.savetxt(block, rng.standard_normal((4000, 9)), delimiter=",", fmt="%.17g")
    block = block.getvalue().encode()
    p = tmp_path / "big.csv"
    with open(p, "wb") as f:
        f.write(b"x1,x2,x3,x4,x5,x6,x7,x8,y\n")
        while f.tell() < 100e6:
            f.write(block)
    size = os.path.getsize(p)
    script = textwrap.dedent(f"""
        import json, tracemalloc
        import pyarrow as pa
        from gdlab.data import CSVStream
        # warm up: lazy imports (pyarrow pulls in pandas when it is installed) are not data
        warm = {str(tmp_path / "warm.csv")!r}
        open(warm, "w").write("a,y\\n1,2\\n")
        for _ in CSVStream(warm, target="y", batch_size=1).batches(0):
            pass
        tracemalloc.start()
        s = CSVStream({str(p)!r}, target="y", batch_size=256, chunk_rows=16384, buffer_chunks=2)
        rows = 0
        for X, y in s.batches(0):
            rows += len(y)
        print(json.dumps(dict(rows=rows, n=s.n_samples, py=tracemalloc.get_traced_memory()[1],
                              arrow=pa.default_memory_pool().max_memory())))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["rows"] == r["n"] == (size - 26) // len(block) * 4000
    assert r["py"] < 0.25 * size and r["py"] < 40e6, r
    assert r["arrow"] < 0.25 * size and r["arrow"] < 40e6, r
