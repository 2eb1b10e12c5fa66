"""Model and checkpoint files: JSON metadata + NumPy arrays in one ``.npz`` file, no pickle.

A gdlab file is a standard ``.npz`` (zip) holding the arrays and one more entry,
``__gdlab__``, the UTF-8 JSON metadata stored as bytes. The metadata carries the
format name and version, the kind (``model`` or ``checkpoint``), and the SHA-256
of every array's bytes with its dtype and shape. Loading uses
``allow_pickle=False`` and refuses, with a clear :class:`~gdlab.errors.ModelFileError`,
anything truncated, edited, foreign, of an unknown version, or whose arrays do
not match their recorded digests. Nothing in a file is ever executed.

Every write is atomic: a temporary file in the same folder, flushed and
``fsync``-ed, then ``os.replace``-d over the target (and the folder synced), so a
kill at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import io
import json
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


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename, fsync folder)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - folders cannot be opened on some systems
        pass


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def dumps(meta: dict[str, Any], arrays: dict[str, np.ndarray], kind: str = "model") -> bytes:
    """The bytes of a gdlab file holding ``meta`` (JSON values) and ``arrays``."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, a in arrays.items():
        if k == _META or not k.isidentifier():
            raise ValueError(f"bad array name {k!r}")
        if a.dtype.kind not in "biuf":
            raise ValueError(f"array {k!r} has dtype {a.dtype}; only numbers are stored")
    header = {"format": FORMAT, "version": VERSION, "kind": kind, "meta": meta,
              "arrays": {k: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _digest(a)}
                         for k, a in arrays.items()}}
    blob = json.dumps(header, allow_nan=False).encode("utf-8")
    buf = io.BytesIO()
    np.savez(buf, **{_META: np.frombuffer(blob, dtype=np.uint8)}, **arrays)
    return buf.getvalue()


def save(path: str | os.PathLike, meta: dict[str, Any], arrays: dict[str, np.ndarray],
         kind: str = "model") -> None:
    """Write a gdlab file atomically."""
    atomic_write_bytes(path, dumps(meta, arrays, kind))


def load(path: str | os.PathLike, kind: str | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
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


def loads(raw: bytes, name: str = "<bytes>", kind: str | None = None
          ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not raw:
        raise ModelFileError(f"{name}: the file is empty")
    if not raw.startswith(b"PK"):
        raise ModelFileError(f"{name}: not a gdlab model file (not an .npz archive)")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            if _META not in z.files:
                raise ModelFileError(f"{name}: not a gdlab model file (no gdlab metadata)")
            blob = z[_META]
            if blob.dtype != np.uint8 or blob.ndim != 1 or blob.size > _MAX_META:
                raise ModelFileError(f"{name}: the gdlab metadata is damaged")
            header = json.loads(blob.tobytes().decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ModelFileError(f"{name}: not a gdlab model file")
            version = header.get("version")
            if version != VERSION:
                raise ModelFileError(f"{name}: format version {version!r} is not supported by "
                                     f"this gdlab (it reads version {VERSION})")
            if kind is not None and header.get("kind") != kind:
                raise ModelFileError(f"{name}: this is a {header.get('kind')!r} file, "
                                     f"expected a {kind!r} file")
            specs = header.get("arrays")
            if not isinstance(specs, dict) or not isinstance(header.get("meta"), dict):
                raise ModelFileError(f"{name}: the gdlab metadata is damaged")
            names = set(z.files) - {_META}
            if names != set(specs):
                raise ModelFileError(f"{name}: the arrays in the file do not match its metadata "
                                     f"(edited?)")
            arrays = {}
            for k, spec in specs.items():
                a = z[k]
                if (a.dtype.str != spec.get("dtype") or list(a.shape) != spec.get("shape")
                        or _digest(a) != spec.get("sha256")):
                    raise ModelFileError(f"{name}: array {k!r} does not match its recorded "
                                         f"checksum (the file was edited or damaged)")
                arrays[k] = a
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, UnicodeDecodeError,
            json.JSONDecodeError) as e:
        raise ModelFileError(f"{name}: the file is truncated or damaged ({type(e).__name__})") from None
    return header["meta"], arrays
