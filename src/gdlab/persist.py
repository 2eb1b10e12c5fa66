"""Model and checkpoint files: JSON metadata + NumPy arrays in one ``.npz`` file, no pickle.

A gdlab file is a standard ``.npz`` (zip, entries stored uncompressed, as ``numpy.savez``
writes them) holding the arrays and one more entry, ``__gdlab__``, the UTF-8 JSON metadata
stored as bytes. The metadata carries the format name and version, the kind (``model`` or
``checkpoint``), the SHA-256 of the user metadata (``meta_sha256``) and the SHA-256 of
every array's bytes with its dtype and shape. Loading never unpickles (object arrays are
refused before any of their bytes are read) and refuses, with a clear
:class:`~gdlab.errors.ModelFileError`, anything truncated, edited, foreign, compressed, of
an unknown version, or whose arrays or metadata do not match their recorded digests.
Nothing in a file is ever executed, and nothing larger than the file itself is allocated
(no zip bombs). Metadata holds JSON values only: NaN and infinities are refused on
writing (store such numbers in an array).

Every write is atomic: a temporary file in the same folder, flushed and
``fsync``-ed, then ``os.replace``-d over the target (and the folder synced), so a
kill at any moment leaves either the old file or the new one, never half of one. A write
that fails (a full disk, a read-only folder) raises its ``OSError`` about the target file,
not the hidden temporary one.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelFileError

FORMAT = "gdlab"
VERSION = 1
_META = "__gdlab__"
_MAX_META = 16 * 1024 * 1024
_MAX_NPY_HEADER = 64 * 1024     # a .npy header (magic + dict) is never longer in a gdlab file
_ARRAY_KINDS = "biuf"


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # not thread-safe, hence only the fallback
    os.umask(old)
    return old


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename, fsync folder).

    The file gets the permissions of the file it replaces, else the usual ones for a new
    file (``0o666`` minus the umask), not the private mode of a temporary file. An error
    (a full disk, a read-only folder) is raised as the same kind of ``OSError`` with
    ``filename`` set to ``path`` (never to the hidden temporary file), and the old file,
    if any, is left as it was.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _replace_with(path, folder, data)
    except OSError as e:
        raise _naming(e, path) from None
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - folders cannot be opened on some systems
        pass


def _replace_with(path: Path, folder: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file in ``folder`` and rename it over ``path``."""
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            try:
                os.fchmod(fh.fileno(), mode)
            except (OSError, AttributeError):  # pragma: no cover - e.g. Windows
                pass
            _write(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write(fh: Any, data: bytes) -> None:
    """The write itself (a separate function, so tests can make it fail like a full disk)."""
    fh.write(data)


def _naming(e: OSError, path: Path) -> OSError:
    """``e`` as the same kind of error, about ``path`` (the file the caller named)."""
    if e.errno is None:
        return OSError(f"cannot write {path}: {e}")
    return type(e)(e.errno, e.strerror, str(path))


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).reshape(-1).view(np.uint8).data).hexdigest() \
        if a.size else hashlib.sha256(b"").hexdigest()


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":
        return v.item()
    raise TypeError(f"metadata values must be JSON values (str, int, float, bool, None, "
                    f"list, dict); got {type(v).__name__} (store arrays as arrays)")


def _meta_json(meta: dict[str, Any]) -> str:
    """The canonical JSON text of the user metadata (what ``meta_sha256`` digests)."""
    try:
        return json.dumps(meta, allow_nan=False, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=True, default=_json_default)
    except ValueError as e:
        if "Out of range float" in str(e):
            raise ValueError("the metadata holds NaN or an infinity, which JSON cannot "
                             "represent; store such numbers in an array") from None
        raise


def _meta_digest(meta: dict[str, Any]) -> str:
    return hashlib.sha256(_meta_json(meta).encode("ascii")).hexdigest()


def dumps(meta: dict[str, Any], arrays: dict[str, np.ndarray], kind: str = "model") -> bytes:
    """The bytes of a gdlab file holding ``meta`` (JSON values) and ``arrays``."""
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, a in arrays.items():
        if not isinstance(k, str) or k == _META or not k.isidentifier():
            raise ValueError(f"bad array name {k!r}")
        if a.dtype.kind not in _ARRAY_KINDS:
            raise ValueError(f"array {k!r} has dtype {a.dtype}; only numbers are stored")
    meta = json.loads(_meta_json(meta))  # plain JSON values (numpy scalars converted)
    header = {"format": FORMAT, "version": VERSION, "kind": kind, "meta": meta,
              "meta_sha256": _meta_digest(meta),
              "arrays": {k: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _digest(a)}
                         for k, a in arrays.items()}}
    blob = json.dumps(header, allow_nan=False).encode("utf-8")
    if len(blob) > _MAX_META:
        raise ValueError(f"the metadata is too large ({len(blob)} bytes > {_MAX_META}); "
                         f"store large data as arrays")
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **{_META: np.frombuffer(blob, dtype=np.uint8)}, **arrays)
    return buf.getvalue()


def save(path: str | os.PathLike, meta: dict[str, Any], arrays: dict[str, np.ndarray],
         kind: str = "model") -> None:
    """Write a gdlab file atomically."""
    atomic_write_bytes(path, dumps(meta, arrays, kind))


def load(path: str | os.PathLike,
         kind: str | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a gdlab file; returns ``(meta, arrays)``."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{name}: is a folder, not a gdlab model file") from None
    except OSError as e:
        raise ModelFileError(f"{name}: cannot read it ({e.strerror})") from None
    return loads(raw, name, kind)


class _Refused(Exception):
    """Internal: the reason a file is refused (becomes a ModelFileError with the name)."""


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> np.ndarray:
    """One ``.npy`` entry, checked before anything is allocated; never unpickles."""
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
        except ValueError:
            raise _Refused(f"{label} is not a NumPy array (damaged?)") from None
        if version not in ((1, 0), (2, 0)):
            raise _Refused(f"{label} has the unsupported .npy version {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
            else np.lib.format.read_array_header_2_0
        try:
            shape, fortran, dtype = read_header(f, max_header_size=_MAX_NPY_HEADER)
        except (ValueError, TypeError, SyntaxError) as e:
            raise _Refused(f"{label} has a damaged .npy header ({e})") from None
        if dtype.hasobject:
            raise _Refused(f"{label} holds pickled Python objects; gdlab never unpickles "
                           f"(it could run code), so the file is refused")
        if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype:
            raise _Refused(f"{label} has dtype {dtype}; gdlab files hold numbers only")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes > info.file_size:
            raise _Refused(f"{label} is shorter than its shape {tuple(shape)} says "
                           f"(truncated or damaged)")
        buf = bytearray(nbytes)
        # typeshed types ZipFile.open() as IO[bytes]; it returns a ZipExtFile, which has readinto
        got = f.readinto(buf) if nbytes else 0  # type: ignore[attr-defined]
        if got != nbytes or f.read(1):  # reading to the end checks the zip CRC-32
            raise _Refused(f"{label} does not have the length its shape says (damaged)")
    a = np.frombuffer(buf, dtype=dtype, count=count)
    return a.reshape(shape, order="F" if fortran else "C")


def _check_spec(k: str, spec: Any) -> tuple[np.dtype, tuple[int, ...]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("sha256"), str):
        raise _Refused("the gdlab metadata is damaged (array description)")
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
        raise _Refused(f"the gdlab metadata is damaged (shape of array {k!r})")
    dt = spec.get("dtype")
    try:
        dtype = np.dtype(dt) if isinstance(dt, str) else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.str != dt:
        raise _Refused(f"the gdlab metadata gives array {k!r} the dtype {dt!r}; "
                       f"gdlab files hold numbers only")
    return dtype, tuple(shape)


def loads(raw: bytes, name: str = "<bytes>", kind: str | None = None
          ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Verify and decode the bytes of a gdlab file; returns ``(meta, arrays)``."""
    if not raw:
        raise ModelFileError(f"{name}: the file is empty")
    if len(raw) < 4 and b"PK\x03\x04".startswith(raw):
        raise ModelFileError(f"{name}: the file is truncated ({len(raw)} bytes)")
    if not raw.startswith(b"PK"):
        raise ModelFileError(f"{name}: not a gdlab model file (not an .npz archive)")
    try:
        return _loads(raw, kind)
    except _Refused as e:
        raise ModelFileError(f"{name}: {e}") from None
    except zipfile.BadZipFile as e:
        what = "a checksum does not match: the file was edited or damaged" \
            if "CRC" in str(e) else "the file is truncated or damaged"
        raise ModelFileError(f"{name}: {what} ({e})") from None
    except (EOFError, OSError, KeyError, ValueError, TypeError, AttributeError,
            UnicodeDecodeError, RecursionError, OverflowError, NotImplementedError,
            RuntimeError) as e:
        raise ModelFileError(f"{name}: the file is truncated or damaged "
                             f"({type(e).__name__}: {e})") from None


def _loads(raw: bytes, kind: str | None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        entries = _entries(zf)
        header = _header(zf, entries, kind)
        specs = header.get("arrays")
        meta = header.get("meta")
        if not isinstance(specs, dict) or not isinstance(meta, dict):
            raise _Refused("the gdlab metadata is damaged")
        try:
            meta_ok = header.get("meta_sha256") == _meta_digest(meta)
        except (ValueError, TypeError):
            meta_ok = False
        if not meta_ok:
            raise _Refused("the metadata does not match its recorded checksum (the file "
                           "was edited or damaged)")
        arrays = _read_arrays(zf, entries, specs)
    return meta, arrays


def _entries(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's entries by name (``.npy`` dropped), each stored as it is, once."""
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        fname = info.filename
        if not fname.endswith(".npy"):
            raise _Refused(f"not a gdlab model file (it holds {fname!r}, which is not a "
                           f"NumPy array)")
        key = fname[:-4]
        if key in entries:
            raise _Refused(f"the archive holds {fname!r} twice (edited or damaged)")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise _Refused(f"{fname!r} is compressed or encrypted; gdlab files store "
                           f"their entries as they are (not a gdlab file, or re-packed)")
        if info.file_size != info.compress_size:
            raise _Refused(f"the sizes recorded for {fname!r} disagree (damaged or "
                           f"edited)")
        entries[key] = info
    return entries


def _header(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo],
            kind: str | None) -> dict[str, Any]:
    """The decoded gdlab metadata entry, checked for format, version and kind."""
    if _META not in entries:
        raise _Refused("not a gdlab model file (no gdlab metadata)")
    mi = entries[_META]
    if mi.file_size > _MAX_META + _MAX_NPY_HEADER:
        raise _Refused(f"the gdlab metadata is too large ({mi.file_size} bytes); "
                       f"not a gdlab file or damaged")
    blob = _read_npy(zf, mi, "the gdlab metadata")
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise _Refused("the gdlab metadata is damaged")
    if blob.size > _MAX_META:
        raise _Refused(f"the gdlab metadata is too large ({blob.size} bytes); "
                       f"not a gdlab file or damaged")
    try:
        header = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise _Refused("the gdlab metadata is not valid JSON (edited or damaged)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _Refused("not a gdlab model file (foreign metadata)")
    version = header.get("version")
    if version != VERSION:
        raise _Refused(f"format version {version!r} is not supported by this gdlab "
                       f"(it reads version {VERSION}); use the gdlab that wrote it")
    if kind is not None and header.get("kind") != kind:
        raise _Refused(f"this is a {header.get('kind')!r} file, expected a {kind!r} file")
    return header


def _read_arrays(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo],
                 specs: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays the metadata lists, each checked against its size, dtype, shape and digest."""
    checked = {k: _check_spec(k, spec) for k, spec in specs.items()}
    names = set(entries) - {_META}
    if names != set(specs):
        extra = sorted(names - set(specs))
        missing = sorted(set(specs) - names)
        raise _Refused(f"the arrays in the file do not match its metadata (edited?): "
                       f"unexpected {extra}, missing {missing}")
    arrays = {}
    for k, spec in specs.items():
        dtype, shape = checked[k]
        info = entries[k]
        nbytes = dtype.itemsize * math.prod(shape)
        if not nbytes <= info.file_size <= nbytes + _MAX_NPY_HEADER:
            raise _Refused(f"array {k!r} does not have the size its metadata records "
                           f"(edited or damaged)")
        a = _read_npy(zf, info, f"array {k!r}")
        if a.dtype.str != spec["dtype"] or a.shape != shape or _digest(a) != spec["sha256"]:
            raise _Refused(f"array {k!r} does not match its recorded checksum (the file "
                           f"was edited or damaged)")
        arrays[k] = a
    return arrays
