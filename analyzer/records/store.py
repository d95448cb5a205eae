"""Content-addressed image store: bytes in, SHA-256 key out.

Photos and derived images (the aligned view of a follow-up) are kept by the
SHA-256 of their bytes, so the same bytes are stored once and a key always
names the same content. The records database holds the keys; the store holds
nothing else, no names and no metadata (the bytes we store are re-encoded
pixels without EXIF or GPS, see :func:`analyzer.images.to_png_bytes`).

:class:`ImageStore` is the whole interface the rest of the code uses, narrow
enough for an S3-compatible object store to implement it later;
:class:`FolderStore` keeps the blobs in a folder, each written atomically
(temporary file, fsync, rename, fsync of the folder), so a crash or a full
disk leaves either the whole blob or nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

__all__ = ["FolderStore", "ImageStore", "MissingBlob", "sha256"]

_KEY = re.compile(r"[0-9a-f]{64}")


class MissingBlob(LookupError):
    """A key the store does not hold (the data folder is incomplete)."""


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``: the key it is stored under."""
    return hashlib.sha256(data).hexdigest()


class ImageStore(Protocol):
    """What records need of a blob store; keys are hex SHA-256 of the content."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its key."""

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; raises :class:`MissingBlob`."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""

    def delete(self, key: str) -> None:
        """Remove ``key`` if stored (no error if it is not)."""

    def keys(self, *, older_than_s: float = 0.0) -> Iterator[str]:
        """Every stored key whose blob was written at least ``older_than_s`` seconds ago."""


class FolderStore:
    """An :class:`ImageStore` in a folder: ``<root>/<k[:2]>/<k>``.

    Parameters
    ----------
    root : str or os.PathLike
        The folder; created if missing.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where ``key``'s blob lives (it may not exist)."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a SHA-256 key: {key!r}")
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        key = sha256(data)
        target = self.path(key)
        if target.exists():
            return key
        target.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(target.parent)
        return key

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise MissingBlob(f"image {key[:12]}... is missing from the store at {self.root}") from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        target = self.path(key)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
            _fsync_dir(target.parent)

    def keys(self, *, older_than_s: float = 0.0) -> Iterator[str]:
        cutoff = time.time() - older_than_s
        for sub in sorted(self.root.iterdir()):
            if not sub.is_dir():
                continue
            for blob in sorted(sub.iterdir()):
                if _KEY.fullmatch(blob.name) and blob.stat().st_mtime <= cutoff:
                    yield blob.name

    def temporary_files(self) -> list[Path]:
        """Leftover temporary files (a write that never finished); empty after a clean run."""
        return sorted(self.root.glob("*/.tmp-*"))


def _fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover -- e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
