"""Safe writes: every file appears complete or not at all, and nothing is overwritten unasked.

:class:`OutputSet` collects the files of one run in temporary files beside their targets and
renames them into place only when all were written, so an interrupted or failing run leaves
the previous state. Without ``force`` it refuses, before writing anything, when a target exists.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class OutputError(Exception):
    """A file could not be written; nothing of this run was left behind."""


def _describe(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"{path}: the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{path}: not allowed to write here (read-only or no permission)"
    return f"{path}: cannot write ({exc.strerror or exc})"


@dataclass
class OutputSet:
    """The files one run writes, made visible together by :meth:`commit`."""

    force: bool = False
    durable: bool = True
    _pending: list[tuple[Path, Path]] = field(default_factory=list)

    def check_targets(self, targets: list[Path]) -> None:
        """Refuse early (before any work is written) when a target exists and force is off."""
        existing = [t for t in targets if t.exists()]
        if existing and not self.force:
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise OutputError(f"{existing[0]}{more} already exist(s); use --force to overwrite")

    def write_bytes(self, target: Path, data: bytes) -> None:
        self.check_targets([target])
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                if self.durable:
                    os.fsync(stream.fileno())
        except OSError as exc:
            self.discard()
            raise OutputError(_describe(exc, target)) from None
        self._pending.append((Path(temporary), target))

    def write_text(self, target: Path, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(target, text.encode(encoding))

    def commit(self) -> list[Path]:
        """Rename every temporary file into place; returns the targets written."""
        written = []
        try:
            for temporary, target in self._pending:
                os.replace(temporary, target)
                written.append(target)
        except OSError as exc:
            self.discard()
            raise OutputError(_describe(exc, target)) from None
        self._pending.clear()
        return written

    def discard(self) -> None:
        for temporary, _ in self._pending:
            with contextlib.suppress(OSError):
                temporary.unlink()
        self._pending.clear()


@contextlib.contextmanager
def output_set(force: bool = False) -> Iterator[OutputSet]:
    """``with output_set(force) as out: out.write_text(...)``: committed on success, discarded on error."""
    outputs = OutputSet(force=force)
    try:
        yield outputs
    except BaseException:
        outputs.discard()
        raise
    outputs.commit()


def write_atomically(target: Path, data: bytes, force: bool = False) -> None:
    """One file, complete or absent."""
    with output_set(force) as out:
        out.write_bytes(target, data)


def write_directory(out_dir: Path, files: dict[str, bytes], force: bool = False) -> list[Path]:
    """Write many files into ``out_dir``, all or none.

    A new folder is filled under a temporary name beside it and renamed into place in one step;
    into an existing folder each file goes through a temporary file, and every existing target is
    refused up front unless ``force``.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder")
    if out_dir.exists():
        with output_set(force) as out:
            out.durable = False
            out.check_targets([out_dir / name for name in files])
            for name, data in files.items():
                out.write_bytes(out_dir / name, data)
        return [out_dir / name for name in files]
    return _write_new_directory(out_dir, files)


def _write_new_directory(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    except OSError as exc:
        raise OutputError(_describe(exc, out_dir)) from None
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        os.replace(staging, out_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(_describe(exc, out_dir)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out_dir / name for name in files]
