"""gdlab files: roundtrip, and refusal (with ModelFileError) of anything truncated, edited,
foreign, pickled, compressed or of an unknown version; atomic writes."""

from __future__ import annotations

import builtins
import io
import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gdlab import persist
from gdlab.errors import ModelFileError

ARRAYS = {
    "w64": np.linspace(-3.0, 7.0, 24).reshape(2, 3, 4),
    "w32": np.arange(10, dtype=np.float32) / 3,
    "ints": np.array([-5, 0, 2**40], dtype=np.int64),
    "small": np.array([1, 2, 250], dtype=np.uint8),
    "i8": np.array([-128, 127], dtype=np.int8),
    "flags": np.array([True, False, True]),
    "big_endian": np.array([1.5, -2.25], dtype=">f8"),
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "scalar": np.array(3.25),
    "empty": np.zeros((0, 4)),
    "special": np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324]),
}
META = {"name": "ünïcode ✓", "nested": {"a": [1, 2.5, None, True], "b": {}}, "step": 7,
        "big": 2**62, "tiny": 1e-300}


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


def _rezip(raw: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
           drop: tuple[str, ...] = (), compression: int = zipfile.ZIP_STORED) -> bytes:
    """Rebuild a gdlab file's zip with some entries changed (zip CRCs recomputed)."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, \
            zipfile.ZipFile(out, "w", compression=compression) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for k, v in add.items():
            zout.writestr(k, v)
    return out.getvalue()


def _header(raw: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        blob = np.load(io.BytesIO(z.read("__gdlab__.npy")), allow_pickle=False)
    return json.loads(blob.tobytes())


def _with_header(raw: bytes, header: dict | bytes) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return _rezip(raw, {"__gdlab__.npy": _npy(np.frombuffer(text, dtype=np.uint8))})


@pytest.fixture
def good() -> bytes:
    return persist.dumps(META, ARRAYS, kind="checkpoint")


def _refused(raw: bytes, match: str, tmp_path: Path | None = None, kind: str | None = None):
    """Both loads() and load() refuse ``raw`` with a ModelFileError naming the file."""
    with pytest.raises(ModelFileError, match=match) as e:
        persist.loads(raw, "thing.gdlab", kind=kind)
    assert str(e.value).startswith("thing.gdlab: ")
    if tmp_path is not None:
        p = tmp_path / "refused.gdlab"
        p.write_bytes(raw)
        with pytest.raises(ModelFileError, match=match) as e:
            persist.load(p, kind=kind)
        assert str(e.value).startswith(str(p))
    return e.value


# --------------------------------------------------------------------------------------------
# roundtrip
# --------------------------------------------------------------------------------------------

def test_roundtrip_keeps_values_dtypes_shapes_and_meta(tmp_path):
    path = tmp_path / "m.gdlab"
    persist.save(path, META, ARRAYS, kind="model")
    meta, arrays = persist.load(path, kind="model")
    assert meta == META
    assert set(arrays) == set(ARRAYS)
    for k, a in ARRAYS.items():
        b = arrays[k]
        assert b.dtype == a.dtype and b.dtype.str == a.dtype.str, k
        assert b.shape == a.shape, k
        np.testing.assert_array_equal(b, a, err_msg=k)
        assert np.ascontiguousarray(b).tobytes() == np.ascontiguousarray(a).tobytes(), k
        assert b.flags.writeable, k
    assert persist.load(path)[0] == META                       # any kind


def test_numpy_scalars_in_meta_become_json_values():
    meta, _ = persist.loads(persist.dumps({"n": np.int64(3), "x": np.float32(0.5),
                                           "b": np.bool_(True)}, {}))
    assert meta == {"n": 3, "x": 0.5, "b": True}
    assert type(meta["n"]) is int and type(meta["b"]) is bool


def test_dumps_refuses_what_it_cannot_store():
    with pytest.raises(ValueError, match="NaN or an infinity"):
        persist.dumps({"loss": float("nan")}, {})
    with pytest.raises(ValueError, match="only numbers"):
        persist.dumps({}, {"o": np.array([object()], dtype=object)})
    with pytest.raises(ValueError, match="only numbers"):
        persist.dumps({}, {"s": np.array(["text"])})
    with pytest.raises(ValueError, match="bad array name"):
        persist.dumps({}, {"__gdlab__": np.zeros(1)})
    with pytest.raises(ValueError, match="bad array name"):
        persist.dumps({}, {"a/b": np.zeros(1)})
    with pytest.raises(TypeError, match="JSON values"):
        persist.dumps({"a": np.zeros(2)}, {})


def test_kind_is_checked(good):
    _refused(good, "this is a 'checkpoint' file, expected a 'model' file", kind="model")
    assert persist.loads(good, kind="checkpoint")[0] == META


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        persist.load(tmp_path / "nope.gdlab")
    with pytest.raises(ModelFileError, match="is a folder"):
        persist.load(tmp_path)


# --------------------------------------------------------------------------------------------
# truncated, edited
# --------------------------------------------------------------------------------------------

def test_refuses_truncated_files(good, tmp_path):
    n = len(good)
    for cut in sorted({0, 1, 2, 3, 4, 30, 100, n // 4, n // 2, n - 200, n - 23, n - 22, n - 1}):
        raw = good[:cut]
        _refused(raw, "empty|truncated|damaged|not a gdlab",
                 tmp_path if cut in (1, n // 2) else None)
    _refused(good[:n // 2], "truncated or damaged")


def _data_offset(raw: bytes, a: np.ndarray) -> int:
    pos = raw.find(np.ascontiguousarray(a).tobytes())
    assert pos > 0 and raw.find(np.ascontiguousarray(a).tobytes(), pos + 1) == -1
    return pos


def test_flipped_byte_in_array_data_is_a_checksum_error(good, tmp_path):
    pos = _data_offset(good, ARRAYS["w64"]) + 17
    raw = bytearray(good)
    raw[pos] ^= 0x40
    _refused(bytes(raw), "checksum does not match: the file was edited or damaged", tmp_path)


def test_array_edited_and_rezipped_fails_its_sha256(good):
    # a tool that rewrites the zip (fresh CRC-32s) is caught by gdlab's own digests
    changed = ARRAYS["w32"].copy()
    changed[3] += 1
    raw = _rezip(good, {"w32.npy": _npy(changed)})
    _refused(raw, "array 'w32' does not match its recorded checksum")
    # another shape or dtype under the same name
    _refused(_rezip(good, {"w32.npy": _npy(ARRAYS["w32"][:5])}), "'w32'")
    _refused(_rezip(good, {"w32.npy": _npy(ARRAYS["w32"].astype(np.float64))}), "'w32'")


def test_edited_json_is_refused(good, tmp_path):
    # in place, same length: the zip CRC-32 catches it
    i = good.find(b'"step": 7')
    assert i > 0
    raw = good[:i] + b'"step": 8' + good[i + 9:]
    _refused(raw, "checksum does not match", tmp_path)
    # rewritten with consistent zip CRCs: the metadata digest catches it
    h = _header(good)
    h["meta"]["step"] = 8
    _refused(_with_header(good, h), "metadata does not match its recorded checksum", tmp_path)
    h = _header(good)
    del h["meta_sha256"]
    _refused(_with_header(good, h), "metadata does not match its recorded checksum")
    # array descriptions edited
    h = _header(good)
    h["arrays"]["w32"]["shape"] = [5, 2]
    _refused(_with_header(good, h), "'w32'")
    h = _header(good)
    h["arrays"]["w32"]["sha256"] = "0" * 64
    _refused(_with_header(good, h), "array 'w32' does not match its recorded checksum")
    h = _header(good)
    del h["arrays"]["flags"]
    _refused(_with_header(good, h), r"do not match its metadata .*unexpected \['flags'\]")
    h = _header(good)
    h["arrays"]["w32"] = 5
    _refused(_with_header(good, h), "damaged")
    h = _header(good)
    h["arrays"]["w32"]["shape"] = [-1]
    _refused(_with_header(good, h), "damaged")
    # not JSON, JSON of the wrong type, nested too deep
    _refused(_with_header(good, b'{"format": "gdlab", "version": 1,'), "not valid JSON")
    _refused(_with_header(good, b"[1, 2, 3]"), "not a gdlab model file")
    _refused(_with_header(good, b"[" * 100_000 + b"]" * 100_000), "not valid JSON|damaged")
    _refused(_with_header(good, b"\xff\xfe{}"), "not valid JSON")
    # an entry removed or added
    _refused(_rezip(good, drop=("w32.npy",)), r"missing \['w32'\]")
    _refused(_rezip(good, add={"extra.npy": _npy(np.zeros(3))}), r"unexpected \['extra'\]")
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = _rezip(good, add={"w32.npy": _npy(np.zeros(3))})
    _refused(twice, "twice")


def test_unknown_version_and_format(good, tmp_path):
    h = _header(good)
    h["version"] = 2
    e = _refused(_with_header(good, h), "format version 2 is not supported", tmp_path)
    assert "reads version 1" in str(e)
    h["version"] = "1"
    _refused(_with_header(good, h), "format version '1' is not supported")
    h = _header(good)
    h["format"] = "other"
    _refused(_with_header(good, h), "not a gdlab model file")


# --------------------------------------------------------------------------------------------
# foreign files
# --------------------------------------------------------------------------------------------

def test_refuses_foreign_files(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3.0), b=np.eye(2))
    _refused(buf.getvalue(), "not a gdlab model file \\(no gdlab metadata\\)", tmp_path)
    _refused(b"x,y\n1,2\n", "not a gdlab model file \\(not an .npz archive\\)", tmp_path)
    _refused(b"", "the file is empty", tmp_path)
    _refused(_npy(np.arange(3.0)), "not an .npz archive")
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("word/document.xml", "<xml/>")
    _refused(zbuf.getvalue(), "not a gdlab model file .*'word/document.xml'", tmp_path)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w"):
        pass
    _refused(zbuf.getvalue(), "no gdlab metadata")
    _refused(b"PK\x03\x04" + os.urandom(200), "truncated or damaged")


def test_refuses_a_compressed_copy(good):
    _refused(_rezip(good, compression=zipfile.ZIP_DEFLATED), "compressed")


def test_zip_bomb_metadata_is_refused_without_expanding_it():
    # 64 MiB of JSON whitespace, deflated to a few dozen KiB
    pad = b" " * (1 << 20)
    out = io.BytesIO()
    info = zipfile.ZipInfo("__gdlab__.npy")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w") as z:
        with z.open(info, "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "|u1", "fortran_order": False, "shape": (64 << 20,)})
            for _ in range(64):
                f.write(pad)
    bomb = out.getvalue()
    assert len(bomb) < 1 << 20
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        _refused(bomb, "compressed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20 and time.perf_counter() - t0 < 2


def test_oversized_stored_metadata_is_refused():
    big = np.frombuffer(b"{" + b" " * (persist._MAX_META + 10) + b"}", dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, __gdlab__=big)
    _refused(buf.getvalue(), "metadata is too large")


def test_lying_entry_sizes_and_npy_headers(good):
    # an .npy header claiming a huge array in a tiny entry: refused before allocating it
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        hdr, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    fake = hdr.getvalue() + b"\0" * 40
    assert _header(good)["arrays"]["w32"]["shape"] == [10]
    tracemalloc.start()
    try:
        _refused(_rezip(good, {"w32.npy": fake}), "array 'w32' is shorter than its shape")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    # an entry longer than its header says
    _refused(_rezip(good, {"w32.npy": _npy(ARRAYS["w32"]) + b"\0" * 8}), "'w32'")
    # garbage instead of an .npy entry, a damaged .npy header
    _refused(_rezip(good, {"w32.npy": b"hello" * 10}), "array 'w32' is not a NumPy array")
    _refused(_rezip(good, {"w32.npy": _npy(ARRAYS["w32"])[:20]}), "array 'w32'")
    # the zip's central directory lies about an entry's size (the bomb trick for stored
    # entries): refused, nothing that size is allocated
    cd = good.find(b"PK\x01\x02")
    assert cd > 0
    raw = bytearray(good)
    raw[cd + 24:cd + 28] = (4_000_000_000).to_bytes(4, "little")      # uncompressed size
    _refused(bytes(raw), "sizes recorded for '__gdlab__.npy' disagree")
    raw[cd + 20:cd + 24] = (4_000_000_000).to_bytes(4, "little")      # compressed size too
    _refused(bytes(raw), "too large|damaged|truncated")


class _Evil:
    """Unpickling this creates a file: proof that something was unpickled."""

    target = ""

    def __reduce__(self):
        return (builtins.open, (self.target, "w"))


def test_pickled_object_arrays_are_refused_without_unpickling(good, tmp_path):
    pwned = tmp_path / "pwned"
    _Evil.target = str(pwned)
    evil = np.array([_Evil(), 1], dtype=object)
    evil_npy = _npy(evil)
    assert b"builtins" in evil_npy or b"open" in evil_npy
    # 1. an extra pickled entry next to a valid gdlab file
    _refused(_rezip(good, add={"evil.npy": evil_npy}), "unexpected \\['evil'\\]", tmp_path)
    # 2. a pickled entry where the metadata expects numbers
    _refused(_rezip(good, {"w32.npy": evil_npy}), "pickled Python objects", tmp_path)
    # 3. metadata that declares an object array
    h = _header(good)
    h["arrays"]["w32"]["dtype"] = "|O"
    _refused(_rezip(_with_header(good, h), {"w32.npy": evil_npy}), "numbers only", tmp_path)
    # 4. the metadata entry itself pickled
    _refused(_rezip(good, {"__gdlab__.npy": evil_npy}), "pickled Python objects", tmp_path)
    # 5. a plain np.savez of an object array with gdlab metadata around it
    buf = io.BytesIO()
    np.savez(buf, __gdlab__=np.frombuffer(b"{}", np.uint8), evil=evil)
    _refused(buf.getvalue(), "not a gdlab model file|unexpected|pickled", tmp_path)
    assert not pwned.exists()
    # sanity: numpy itself would have run the payload
    with zipfile.ZipFile(io.BytesIO(_rezip(good, {"w32.npy": evil_npy}))) as z:
        np.load(io.BytesIO(z.read("w32.npy")), allow_pickle=True)
    assert pwned.exists()


# --------------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------------

def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_failed_write_leaves_the_old_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "m.gdlab"
    persist.save(path, {"v": 1}, {"p": np.zeros(1000)})
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    if failing == "replace":
        monkeypatch.setattr(persist.os, "replace", boom)
    elif failing == "fsync":
        monkeypatch.setattr(persist.os, "fsync", boom)
    else:
        real = persist.os.fdopen

        class Half:
            def __init__(self, fh):
                self.fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

            def fileno(self):
                return self.fh.fileno()

            def write(self, data):
                self.fh.write(data[: len(data) // 2])
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(persist.os, "fdopen", lambda fd, mode: Half(real(fd, mode)))
    with pytest.raises(OSError, match="No space left") as e:
        persist.save(path, {"v": 2}, {"p": np.ones(1000)})
    assert e.value.errno == 28 and e.value.filename == str(path)  # the target, not the temp
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert persist.load(path)[0] == {"v": 1}
    assert _leftovers(tmp_path) == []


def test_a_read_only_folder_is_named_not_the_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "out" / "m.gdlab"
    target.parent.mkdir()

    def refused(*a, dir=None, **k):
        raise PermissionError(13, "Permission denied", os.path.join(dir, ".m.gdlab.x1y2.tmp"))

    monkeypatch.setattr(persist.tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError) as e:
        persist.save(target, {"v": 1}, {"p": np.zeros(3)})
    assert e.value.filename == str(target) and e.value.strerror == "Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_real_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError) as e:
            persist.save(folder / "m.gdlab", {"v": 1}, {"p": np.zeros(3)})
        assert e.value.filename == str(folder / "m.gdlab")
    finally:
        folder.chmod(0o700)


def test_write_keeps_permissions(tmp_path):
    path = tmp_path / "m.gdlab"
    persist.save(path, {}, {"p": np.zeros(3)})
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask   # not the temp file's 0o600
    os.chmod(path, 0o640)
    persist.save(path, {"v": 2}, {"p": np.ones(3)})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from gdlab import persist
    path, marker = sys.argv[1], sys.argv[2]
    a = np.full(400_000, 1.0)          # 3.2 MB: kills often land inside a write
    b = np.full(400_000, 2.0)
    i = 0
    while True:
        persist.save(path, {"i": i}, {"p": a if i % 2 else b})
        if i == 0:
            open(marker, "w").close()
        i += 1
""")


def test_kill_during_repeated_saves_never_leaves_a_broken_file(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    path, marker = tmp_path / "m.gdlab", tmp_path / "marker"
    rnd = random.Random(7)
    last = -1
    for _ in range(5):
        marker.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(marker)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(rnd.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stderr.close()
        meta, arrays = persist.load(path)          # always whole, old or new
        i = meta["i"]
        assert i >= 0
        np.testing.assert_array_equal(arrays["p"], np.full(400_000, 1.0 if i % 2 else 2.0))
        last = i
    assert last >= 0
    # a killed writer may leave its temporary file behind, never the target half-written
    for name in _leftovers(tmp_path):
        assert name.startswith(".m.gdlab.")
