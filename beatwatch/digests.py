"""Content identity of delivered files: SHA-256 digests, stand-ins for unreadable files and
links, and PhysioNet's ``SHA256SUMS.txt`` lists."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class FileDigest:
    """Identity of one delivered file: its path, size in bytes and SHA-256 (hex)."""

    path: Path
    bytes: int
    sha256: str
    """SHA-256 of the bytes; for an unreadable file, of its name, size and time instead."""
    error: str | None = None
    """Why the file could not be read (e.g. ``Permission denied``), if it could not."""


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def file_identity(path: Path) -> str:
    """A SHA-256 that identifies a file in the inbox without following links or failing.

    The bytes' SHA-256 for a readable file; for a symbolic link, a hash of where it points
    (its target is never read); for an unreadable file, a hash of its name, size and time.
    """
    if path.is_symlink():
        return hashlib.sha256(b"symlink\0" + os.fsencode(os.readlink(path))).hexdigest()
    try:
        return sha256_file(path)
    except OSError:
        return unreadable_identity(path)


def unreadable_identity(path: Path) -> str:
    """A stand-in identity for a file that cannot be read: a hash of its name, size and time."""
    try:
        st = path.stat()
        stamp = f"{st.st_size}\0{st.st_mtime_ns}"
    except OSError:
        stamp = "gone"
    return hashlib.sha256(f"unreadable\0{path.name}\0{stamp}".encode()).hexdigest()


def combine_digests(pairs: Iterable[tuple[str, str]]) -> str:
    """One SHA-256 (hex) for a set of (name, SHA-256) pairs, whatever their order."""
    digest = hashlib.sha256()
    for name, sha in sorted(pairs):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()


def read_checksums(index: Path) -> dict[str, str]:
    """Parse a PhysioNet ``SHA256SUMS.txt`` into {relative path: sha256}."""
    sums: dict[str, str] = {}
    for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
        sha, _, name = line.strip().partition(" ")
        if len(sha) == 64 and name:
            sums[name.strip().lstrip("*")] = sha.lower()
    return sums


def digest_file(path: Path) -> FileDigest:
    """The file's digest; an unreadable file (or one gone since the first look, which then
    waits for the next run) gets a stand-in identity and the error."""
    size = -1
    try:
        size = path.stat().st_size
        return FileDigest(path, size, sha256_file(path))
    except OSError as exc:
        error = exc.strerror or type(exc).__name__
        return FileDigest(path, size, unreadable_identity(path), error=error)
