"""The default backend: a blockstore directory in the node's data directory.

Layout, modelled on kubo's flatfs: ``<root>/<shard>/<key>.data`` where ``key`` is the
block's multihash in lowercase base32 (``ciq...`` for sha2-256) and ``shard`` its two
characters before the last (flatfs's ``next-to-last/2``). Keying by multihash rather than
CID, as kubo does, stores a block once whichever codec or CID version names it; the last
characters of a hash are uniform, so the 1024 shard directories fill evenly (the first
ones are the constant multihash prefix).

A block file is either absent or complete: it is written to ``<root>/.tmp``, fsynced,
renamed into place, and the directory fsynced, so a crash at any point leaves no
half-written block under a real name. Concurrent writers of the same block each rename a
complete copy over the other, which is harmless because the bytes are identical. Every
read is verified against the CID, so a block corrupted on disk is reported, not served.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from multiformats import CID, multibase

from node.store.base import MAX_BLOCK_SIZE, ContentStore, parse_cid, verified
from node.store.errors import (
    BlockMismatchError,
    BlockNotFoundError,
    InvalidCidError,
    InvalidContentError,
)

STALE_TEMP_SECONDS = 3600.0
"""Temporary files older than this are leftovers of a crash, removed when a store opens."""


def _fsync_directory(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (POSIX needs the directory synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EmbeddedStore(ContentStore):
    """Blocks as files under ``root``; see the module docstring for layout and durability."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temp_files()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> EmbeddedStore:
        """The store a node keeps in ``<data_dir>/blocks``."""
        return cls(Path(data_dir) / "blocks")

    def path_for(self, cid: str | CID) -> Path:
        """The file that holds (or would hold) block ``cid``."""
        parsed = parse_cid(cid)
        if parsed.hashfun.name == "identity":
            raise InvalidCidError(f"identity CID {parsed} is inlined, never stored")
        key = multibase.encode(bytes(parsed.digest), "base32")[1:]  # drop the 'b' prefix
        return self.root / key[-3:-1] / f"{key}.data"

    def _read_block(self, cid: CID) -> bytes:
        path = self.path_for(cid)
        try:
            with path.open("rb") as file:
                return file.read(MAX_BLOCK_SIZE + 1)  # an oversized file fails verification
        except FileNotFoundError as exc:
            raise BlockNotFoundError(f"block {cid} is not in the local store") from exc

    def _has_block(self, cid: CID) -> bool:
        return self.path_for(cid).is_file()

    def _write_block(self, cid: CID, data: bytes) -> None:
        path = self.path_for(cid)
        if self._holds_intact(cid, path):
            return
        shard = path.parent
        if not shard.is_dir():
            shard.mkdir(exist_ok=True)
            _fsync_directory(self.root)
        fd, temp_name = tempfile.mkstemp(dir=self._tmp, prefix=f"{path.stem[-8:]}-")
        temp = Path(temp_name)
        renamed = False
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            temp.replace(path)
            renamed = True
            _fsync_directory(shard)
        finally:
            if not renamed:
                temp.unlink(missing_ok=True)

    def _holds_intact(self, cid: CID, path: Path) -> bool:
        """Whether ``path`` already holds the right bytes (a corrupt copy gets rewritten)."""
        try:
            verified(cid, self._read_block(cid), str(path))
        except (BlockNotFoundError, BlockMismatchError, InvalidContentError):
            return False
        return True

    def _describe(self, cid: CID) -> str:
        return f"local block file {self.path_for(cid)}"

    def _remove_stale_temp_files(self) -> None:
        """Delete what a crash left in ``.tmp`` (old enough that no writer still owns it)."""
        cutoff = time.time() - STALE_TEMP_SECONDS
        for entry in self._tmp.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
            except FileNotFoundError:
                continue  # another process cleaned it first
