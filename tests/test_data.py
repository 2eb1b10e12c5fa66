"""gdlab.data: in-memory streams, batch order, standardizer, IDX, datasets, generators."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest

from gdlab import kernels
from gdlab.data import (
    ArrayStream,
    ConstantColumnWarning,
    Standardizer,
    _order,
    load_dataset,
    load_idx_pair,
    make_classification_blobs,
    make_lecture_example,
    make_linear,
    open_stream,
    read_idx,
    write_idx,
)
from gdlab.errors import DataError, ParameterError


def _data(n=203, p=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(dtype)
    y = np.arange(n, dtype=dtype)  # y = original row index: easy to follow rows
    return X, y


def _all(stream, epoch, start=0):
    return list(stream.batches(epoch, start))


# -- order ------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_rows,buffer_chunks", [(None, 4), (37, 3), (10, 1), (500, 2)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_row_once_per_epoch(chunk_rows, buffer_chunks, shuffle):
    X, y = _data()
    s = ArrayStream(X, y, batch_size=16, shuffle=shuffle, seed=5, chunk_rows=chunk_rows,
                    buffer_chunks=buffer_chunks)
    assert s.n_batches() == 13
    for epoch in range(3):
        bs = _all(s, epoch)
        assert len(bs) == s.n_batches()
        assert [len(b[1]) for b in bs] == [16] * 12 + [11]
        rows = np.concatenate([b[1] for b in bs]).astype(int)
        assert sorted(rows) == list(range(203))
        for xb, yb in bs:  # X travels with its y
            np.testing.assert_array_equal(xb, X[yb.astype(int)])
        if not shuffle:
            np.testing.assert_array_equal(rows, np.arange(203))


def test_epochs_differ_and_seed_fixes_order():
    X, y = _data()
    a = ArrayStream(X, y, batch_size=20, seed=7)
    b = ArrayStream(X, y, batch_size=20, seed=7)
    c = ArrayStream(X, y, batch_size=20, seed=8)

    def order(s, e):
        return np.concatenate([yb for _, yb in s.batches(e)])

    np.testing.assert_array_equal(order(a, 0), order(b, 0))
    np.testing.assert_array_equal(order(a, 3), order(b, 3))
    assert not np.array_equal(order(a, 0), order(a, 1))
    assert not np.array_equal(order(a, 0), order(c, 0))


@pytest.mark.parametrize("chunk_rows,buffer_chunks,batch_size", [
    (None, 4, 16), (37, 3, 16), (37, 3, 50), (7, 2, 3), (37, 3, None)])
def test_start_resumes_with_the_same_batches(chunk_rows, buffer_chunks, batch_size):
    X, y = _data()
    s = ArrayStream(X, y, batch_size=batch_size, seed=1, chunk_rows=chunk_rows,
                    buffer_chunks=buffer_chunks)
    for epoch in (0, 4):
        full = _all(s, epoch)
        for k in range(len(full) + 2):
            tail = _all(s, epoch, start=k)
            assert len(tail) == max(len(full) - k, 0)
            for (xa, ya), (xb, yb) in zip(tail, full[k:]):
                np.testing.assert_array_equal(xa, xb)
                np.testing.assert_array_equal(ya, yb)


def test_order_scheme_is_the_documented_one():
    """Chunks permuted by rng([seed, epoch]); buffer b rows by rng([seed, epoch, 1, b])."""
    n, c, bc, B, seed, epoch = 100, 12, 3, 8, 4, 2
    X, y = _data(n)
    s = ArrayStream(X, y, batch_size=B, seed=seed, chunk_rows=c, buffer_chunks=bc)
    chunks = np.random.default_rng([seed, epoch]).permutation(9)
    rows = []
    for b, i in enumerate(range(0, 9, bc)):
        buf = np.concatenate([np.arange(k * c, min(k * c + c, n)) for k in chunks[i:i + bc]])
        rows.append(buf[np.random.default_rng([seed, epoch, 1, b]).permutation(len(buf))])
    expected = np.concatenate(rows)
    got = np.concatenate([yb for _, yb in s.batches(epoch)]).astype(int)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in s.batches(epoch)]),
                                  X[expected])


def test_full_batch():
    X, y = _data()
    s = ArrayStream(X, y)  # batch_size None, one chunk: the data itself, in file order
    (xb, yb), = _all(s, 0)
    np.testing.assert_array_equal(xb, X)
    assert s.n_batches() == 1
    assert not xb.flags.writeable
    s2 = ArrayStream(X, y, chunk_rows=50)  # mirrors a file stream: one piece per chunk
    pieces = _all(s2, 3)
    assert s2.n_batches() == len(pieces) == 5
    np.testing.assert_array_equal(np.concatenate([p[0] for p in pieces]), X)


def test_batches_do_not_alias_user_data():
    X, y = _data()
    s = ArrayStream(X, y, batch_size=10, shuffle=False)
    xb, _ = next(s.batches(0))
    with pytest.raises(ValueError):
        xb[0, 0] = 1.0


def test_bad_order_arguments():
    X, y = _data()
    for kw in [dict(batch_size=0), dict(batch_size=2.5), dict(batch_size=True), dict(seed=-1),
               dict(chunk_rows=0), dict(buffer_chunks=0), dict(shuffle="yes")]:
        with pytest.raises(ParameterError):
            ArrayStream(X, y, **kw)
    s = ArrayStream(X, y, batch_size=4)
    with pytest.raises(ParameterError):
        s.batches(-1)
    with pytest.raises(ParameterError):
        s.batches(0, start=-2)


def test_check_int_helper():
    assert _order.check_int(3, "n", 1) == 3
    assert _order.check_int(np.int64(3), "n", 1) == 3
    assert _order.check_int(None, "n", 1, allow_none=True) is None


# -- ArrayStream validation -----------------------------------------------------------

def test_1d_X_gets_sklearns_message():
    with pytest.raises(DataError, match=r"Expected 2D array, got 1D array instead") as ei:
        ArrayStream(np.arange(5.0), np.arange(5.0))
    assert "Reshape your data either using array.reshape(-1, 1)" in str(ei.value)


def test_nan_and_inf_name_row_and_column():
    X, y = _data(20)
    X[6, 2] = np.nan
    with pytest.raises(DataError) as ei:
        ArrayStream(X, y)
    assert ei.value.row == 7 and ei.value.column == "x3"
    assert "X[6, 2]" in str(ei.value) and "NaN" in str(ei.value)
    X[6, 2] = 0
    X[3, 0] = -np.inf
    with pytest.raises(DataError, match=r"-inf") as ei:
        ArrayStream(X, y, feature_names=["a", "b", "c"])
    assert ei.value.row == 4 and ei.value.column == "a"
    X[3, 0] = 0
    y[9] = np.inf
    with pytest.raises(DataError) as ei:
        ArrayStream(X, y, target_name="price")
    assert ei.value.row == 10 and ei.value.column == "price"


def test_array_validation_misc():
    X, y = _data(20)
    with pytest.raises(DataError, match="20 rows but y has 19"):
        ArrayStream(X, y[:-1])
    with pytest.raises(DataError, match="0 sample"):
        ArrayStream(np.empty((0, 3)), np.empty(0))
    with pytest.raises(DataError, match="numeric"):
        ArrayStream([["a", "b"]], [1.0])
    with pytest.raises(ParameterError):
        ArrayStream(X, y, feature_names=["a"])
    # huge but finite values overflow the quick sum check: must not be refused
    big = np.full((4, 2), 1e308)
    ArrayStream(big, np.zeros(4))


def test_dtypes():
    X, y = _data(30, dtype=np.float32)
    s = ArrayStream(X, y, batch_size=8)
    xb, yb = next(s.batches(0))
    assert s.dtype == np.float32 and xb.dtype == np.float32 and yb.dtype == np.float32
    s = ArrayStream(X.astype(np.int32), y.astype(np.int64), batch_size=8)
    xb, yb = next(s.batches(0))
    assert xb.dtype == np.float64 and yb.dtype == np.float64
    s = ArrayStream(X.tolist(), y.tolist())
    assert s.dtype == np.float64 and s.n_samples == 30 and s.n_features == 3


# -- Standardizer -------------------------------------------------------------------

def test_running_stats_match_numpy_with_many_chunks():
    rng = np.random.default_rng(3)
    X = rng.normal(1e3, 5.0, size=(10_000, 4)) * np.array([1, 1e-3, 1e3, 7])
    y = rng.standard_normal(10_000)
    for chunk_rows in (None, 1, 7, 333, 10_000):
        s = ArrayStream(X, y, chunk_rows=chunk_rows)
        st = Standardizer().fit_stream(s)
        np.testing.assert_allclose(st.mean_, X.mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(st.std_, X.std(axis=0), rtol=1e-10)
        assert st.n_samples_ == 10_000


def test_standardizer_transform_roundtrip_and_dict():
    X, y = _data(100)
    st = Standardizer().fit(X)
    Z = st.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(st.inverse_transform(Z), X, atol=1e-12)
    d = st.to_dict()
    assert all(isinstance(v, list) for k, v in d.items() if k != "n_samples")
    st2 = Standardizer.from_dict(d)
    np.testing.assert_array_equal(st2.transform(X), Z)
    assert st.transform(X.astype(np.float32)).dtype == np.float32
    with pytest.raises(ParameterError):
        st.transform(X[:, :2])
    with pytest.raises(ParameterError):
        Standardizer().transform(X)
    with pytest.raises(ParameterError):
        Standardizer.from_dict({"mean": [0.0], "scale": [0.0]})


def test_constant_column_warns_and_scales_by_one():
    X, y = _data(50)
    X[:, 1] = 4.2
    with pytest.warns(ConstantColumnWarning, match="'x2'"):
        st = Standardizer().fit(X)
    assert issubclass(ConstantColumnWarning, UserWarning)
    assert st.scale_[1] == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = st.transform(X)
    assert np.all(Z[:, 1] == 0) and np.all(np.isfinite(Z))


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.fixture(params=["compiled", "numpy"])
def take_path(request, monkeypatch):
    """``Standardizer.take`` through the compiled pass (when numba is installed; counted, so
    a test knows it ran) or through NumPy's take and transform (as without numba)."""
    calls = [0]
    if request.param == "numpy":
        monkeypatch.setattr(kernels, "standardized_rows", lambda: None)
    else:
        real = kernels.standardized_rows()
        if real is None:
            pytest.skip("numba not installed")

        def counting(*args):
            calls[0] += 1
            return real(*args)

        monkeypatch.setattr(kernels, "standardized_rows", lambda: counting)
    return request.param, calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_standardizer_take_is_transform_of_take_to_the_bit(take_path, dtype):
    rng = np.random.default_rng(3)
    X = (rng.standard_normal((500, 9)) * np.exp(rng.uniform(-20, 20, 9)) + 7.3).astype(dtype)
    X[:, 4] = 2.5  # constant: scale 1
    with pytest.warns(ConstantColumnWarning):
        st = Standardizer().fit(X)
    X[3, 0], X[7, 1], X[11, 2] = np.nan, np.inf, -np.inf  # non-finite values pass through
    rows = rng.integers(-len(X), len(X), 321)  # negative rows count from the end
    rows[:5] = [0, 499, -1, -500, 0]
    got = st.take(X, rows)
    assert _same_bits(got, st.transform(np.take(X, rows, axis=0)))
    assert got.dtype == dtype and got.flags.c_contiguous and got.flags.writeable
    assert st.take(X, rows[:0]).shape == (0, 9)
    path, calls = take_path
    assert (calls[0] > 0) == (path == "compiled")


def test_standardizer_take_refuses_a_row_out_of_range(take_path):
    X, _ = _data(20)
    st = Standardizer().fit(X)
    for bad in (20, -21):
        with pytest.raises(IndexError):
            st.take(X, np.array([3, bad, 1]))


@pytest.mark.parametrize("chunks", [dict(), dict(chunk_rows=17, buffer_chunks=2)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_stream_applies_standardizer_per_batch(take_path, chunks, shuffle):
    """Batches of a standardized stream are the raw batches standardized, to the bit: the
    shuffled ones picked and standardized in one pass (Standardizer.take)."""
    X, y = _data(64, dtype=np.float32)
    s = ArrayStream(X, y, batch_size=10, seed=2, shuffle=shuffle, **chunks)
    st = s.fit_standardizer()
    assert s.standardizer is st
    raw = ArrayStream(X, y, batch_size=10, seed=2, shuffle=shuffle, **chunks)
    for epoch, start in [(1, 0), (2, 3)]:
        got, want = list(s.batches(epoch, start)), list(raw.batches(epoch, start))
        assert len(got) == len(want) == 7 - start
        for (xa, ya), (xb, yb) in zip(got, want):
            assert _same_bits(xa, st.transform(xb))
            assert _same_bits(ya, yb)
    path, calls = take_path
    assert (calls[0] > 0) == (path == "compiled" and shuffle)


# -- IDX --------------------------------------------------------------------------------

def _idx_bytes(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + struct.pack(">" + "I" * len(dims), *dims) + payload


def test_idx_handwritten_ubyte_and_float(tmp_path):
    img = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "img.idx").write_bytes(_idx_bytes(0x08, (2, 3, 4), img.tobytes()))
    np.testing.assert_array_equal(read_idx(tmp_path / "img.idx"), img)
    f = np.array([[1.5, -2.25], [3e10, 0.0]], dtype=np.float32)
    (tmp_path / "f.idx").write_bytes(_idx_bytes(0x0D, (2, 2), f.astype(">f4").tobytes()))
    got = read_idx(tmp_path / "f.idx")
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, f)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
def test_idx_roundtrip(tmp_path, dtype, suffix):
    a = (np.arange(60).reshape(3, 4, 5) % 100).astype(dtype)
    write_idx(tmp_path / f"a{suffix}", a)
    b = read_idx(tmp_path / f"a{suffix}")
    assert b.dtype == a.dtype
    np.testing.assert_array_equal(a, b)


def test_idx_refuses_bad_files(tmp_path):
    a = np.zeros((10, 4, 4), dtype=np.uint8)
    write_idx(tmp_path / "a.idx", a)
    data = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "trunc.idx").write_bytes(data[:-5])
    with pytest.raises(DataError, match="truncated") as ei:
        read_idx(tmp_path / "trunc.idx")
    assert "trunc.idx" in str(ei.value)
    (tmp_path / "trunc.idx.gz").write_bytes(gzip.compress(data[:-5]))
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "trunc.idx.gz")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(data)[:-12])
    with pytest.raises(DataError, match="cut.gz"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "head.idx").write_bytes(data[:6])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "head.idx")
    (tmp_path / "magic.idx").write_bytes(b"\x01\x00" + data[2:])
    with pytest.raises(DataError, match="magic"):
        read_idx(tmp_path / "magic.idx")
    (tmp_path / "code.idx").write_bytes(b"\x00\x00\x07" + data[3:])
    with pytest.raises(DataError, match="dtype code"):
        read_idx(tmp_path / "code.idx")
    (tmp_path / "long.idx").write_bytes(data + b"\x00")
    with pytest.raises(DataError, match="extra bytes"):
        read_idx(tmp_path / "long.idx")
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nope.idx")


def test_load_idx_pair_and_open_stream(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(12, 5, 5), dtype=np.uint8)
    labels = rng.integers(0, 10, size=12).astype(np.uint8)
    write_idx(tmp_path / "img.gz", imgs)
    write_idx(tmp_path / "lab.idx", labels)
    X, y = load_idx_pair(tmp_path / "img.gz", tmp_path / "lab.idx")
    assert X.shape == (12, 25) and X.dtype == np.float64
    assert X.min() >= 0 and X.max() <= 1
    np.testing.assert_allclose(X * 255, imgs.reshape(12, 25))
    np.testing.assert_array_equal(y, labels) and y.dtype == np.int64
    s = open_stream(f"{tmp_path / 'img.gz'},{tmp_path / 'lab.idx'}", batch_size=5)
    assert s.n_samples == 12 and s.n_features == 25 and s.n_batches() == 3
    s = open_stream((tmp_path / "img.gz", tmp_path / "lab.idx"))
    assert s.n_samples == 12
    write_idx(tmp_path / "lab11.idx", labels[:11])
    with pytest.raises(DataError, match="12 images but 11 labels"):
        load_idx_pair(tmp_path / "img.gz", tmp_path / "lab11.idx")


# -- datasets & generators ----------------------------------------------------------------

@pytest.mark.parametrize("name,shape,task", [
    ("digits", (1797, 64), "classification"), ("iris", (150, 4), "classification"),
    ("diabetes", (442, 10), "regression"), ("breast_cancer", (569, 30), "classification"),
    ("breast-cancer", (569, 30), "classification")])
def test_load_dataset(name, shape, task):
    import sklearn.datasets
    X, y, info = load_dataset(name)
    ref = getattr(sklearn.datasets, "load_" + name.replace("-", "_"))()
    assert X.shape == ref.data.shape == shape and y.shape == (shape[0],)
    np.testing.assert_array_equal(X, ref.data)
    np.testing.assert_array_equal(y, ref.target)
    assert info["task"] == task and len(info["feature_names"]) == shape[1]
    assert info["description"]


def test_load_dataset_unknown_and_open_stream_names():
    with pytest.raises(ParameterError, match="iris"):
        load_dataset("mnist")
    s = open_stream("iris", batch_size=32, seed=1)
    assert s.n_samples == 150 and s.n_features == 4 and s.feature_names[0].startswith("sepal")
    with pytest.raises(ParameterError, match="CSV file"):
        open_stream("no-such-thing")
    with pytest.raises(ParameterError, match="CSV file"):
        open_stream(42)
    with pytest.raises(ParameterError):
        open_stream("iris", target="y")


def test_open_stream_arrays_and_streams():
    X, y = _data(40)
    s = open_stream((X, y), batch_size=8)
    assert isinstance(s, ArrayStream) and s.n_batches() == 5
    assert open_stream(s) is s


def test_import_is_fast_and_lazy():
    code = ("import sys, gdlab.data; "
            "print('sklearn' in sys.modules, 'pyarrow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_make_linear():
    X, y, coef, b = make_linear(200, 3, noise=0.0, seed=4)
    assert X.shape == (200, 3) and coef.shape == (3,)
    np.testing.assert_allclose(y, X @ coef + b)
    X2, y2, coef2, b2 = make_linear(200, 3, noise=0.0, seed=4)
    np.testing.assert_array_equal(y, y2)
    X, y, coef, b = make_linear(50, 2, noise=0.1, seed=0, coef=[1.0, -1.0], intercept=0.5)
    np.testing.assert_array_equal(coef, [1.0, -1.0]) and b == 0.5
    assert 0 < np.std(y - X @ coef - b) < 0.3
    with pytest.raises(ParameterError):
        make_linear(10, 2, coef=[1.0])
    with pytest.raises(ParameterError):
        make_linear(10, 2, noise=-1)


def test_make_lecture_example():
    X, y = make_lecture_example(n=500, seed=1)
    assert X.shape == (500, 2) and X.min() >= 0 and X.max() < 1
    np.testing.assert_allclose(y, 0.3 * X[:, 0] + 0.5 * X[:, 1] + 0.1)
    coef, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(500)]), y, rcond=None)
    np.testing.assert_allclose(coef, [0.3, 0.5, 0.1], atol=1e-12)


def test_make_classification_blobs():
    X, y = make_classification_blobs(n_samples=300, n_classes=3, n_features=2, spread=0.5, seed=2)
    assert X.shape == (300, 2) and set(np.unique(y)) == {0, 1, 2}
    assert np.bincount(y).tolist() == [100, 100, 100]
    centers = np.array([X[y == k].mean(axis=0) for k in range(3)])
    nearest = np.argmin(((X[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
    assert (nearest == y).mean() > 0.98
    X1, y1 = make_classification_blobs(n_samples=10, n_features=1, seed=0)
    assert X1.shape == (10, 1)


def test_array_stream_without_validation_takes_checked_arrays_only():
    X = np.arange(12.0).reshape(6, 2)
    y = np.arange(6.0)
    s = ArrayStream(X, y, batch_size=4, seed=1, validate=False)
    assert s.X is X and s.feature_names == ["x1", "x2"]
    ref = ArrayStream(X, y, batch_size=4, seed=1)
    for (a, b), (c, d) in zip(s.batches(0), ref.batches(0)):
        assert np.array_equal(a, c) and np.array_equal(b, d)
    for bad in ((np.asfortranarray(X), y), (X, y.astype(np.float32)), (X, y[:5]),
                (X.astype(int), y)):
        with pytest.raises(ParameterError, match="validate=False"):
            ArrayStream(*bad, validate=False)
