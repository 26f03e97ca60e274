"""Safe writes: every file appears complete or not at all, and nothing is overwritten unasked.

:class:`OutputSet` collects the files of one run in temporary files beside their targets and
moves them into place only when all were written, so an interrupted or failing run leaves the
previous state. Without ``force`` it refuses, before writing anything, when a target exists, and
a file that appears meanwhile (a concurrent run) is not overwritten either.

Temporary files and folders are hidden and recognisable: ``.<target name>.<host>-<pid>-<random>.tmp``.
A run that is killed (SIGKILL, power cut) cannot remove its own; the next run that writes into
the same folder removes every such leftover whose process is gone (same host) or that is older
than :data:`STALE_AFTER` seconds (another host sharing the folder). Ctrl-C (SIGINT) removes them at once.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["STALE_AFTER", "OutputError", "OutputSet", "clean_stale", "output_set", "write_atomically",
           "write_directory"]

STALE_AFTER = 7 * 24 * 3600
"""Age in seconds after which a temporary left by another host is removed."""
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_CHUNK = 1 << 20


class OutputError(Exception):
    """A file could not be written; nothing of this run was left behind."""


def _describe(exc: OSError, path: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{path}: the disk is full (or the quota is used up); nothing was written"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{path}: the folder is read-only or not writable for you; nothing was written"
    if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
        return f"{path}: appeared while this run was writing (another run?); nothing was written"
    return f"{path}: cannot write ({exc.strerror or exc}); nothing was written"


# ------------------------------------------------------------------------------------------- temporary names


def _temporary_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp")


_TEMPORARY = re.compile(r"^\..+\.([0-9a-f]{8})-([0-9]+)-[0-9a-f]{8}\.tmp$", re.DOTALL)


def _owner(name: str) -> tuple[str, int] | None:
    """(host, pid) of a temporary name made by :func:`_temporary_name`, else None."""
    match = _TEMPORARY.match(name)
    return (match.group(1), int(match.group(2))) if match else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to someone else
        return True
    return True


def _stale(entry: Path, host: str, pid: int) -> bool:
    if host == _HOST:
        return pid != os.getpid() and not _alive(pid)
    try:
        return time.time() - entry.lstat().st_mtime > STALE_AFTER
    except OSError:
        return False


def clean_stale(folder: Path) -> list[Path]:
    """Remove the temporaries that killed runs left in ``folder``; returns what was removed."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        owner = _owner(entry.name)
        if owner is None or not _stale(entry, *owner):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    return removed


# ------------------------------------------------------------------------------------------------- one file


def _write_file(path: Path | str, data: bytes, durable: bool, dir_fd: int | None = None) -> None:
    """Create ``path`` (it must not exist; relative to ``dir_fd`` if given) with ``data``; permissions follow
    the umask, like any new file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    handle = os.open(path, flags, 0o666, dir_fd=dir_fd)
    try:
        view = memoryview(data)
        while view:
            written = os.write(handle, view[:_CHUNK])
            view = view[written:]
        if durable:
            os.fsync(handle)
    finally:
        os.close(handle)


@contextlib.contextmanager
def _folder_handle(folder: Path) -> Iterator[int | None]:
    """An open handle of ``folder`` to create files relative to (no path lookup per file); None where the
    system cannot (Windows)."""
    if os.open not in os.supports_dir_fd:
        yield None
        return
    handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        yield handle
    finally:
        os.close(handle)


def _publish(temporary: Path, target: Path, force: bool) -> None:
    """Move a finished temporary file into place; without force never over a file that exists by now."""
    if force:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)  # fails with EEXIST when the target appeared meanwhile
    except OSError as exc:
        if exc.errno == errno.EEXIST or target.exists():
            raise OSError(errno.EEXIST, "exists") from None
        os.replace(temporary, target)  # a file system without hard links: checked just before
        return
    os.unlink(temporary)


@dataclass
class OutputSet:
    """The files one run writes, made visible together by :meth:`commit`."""

    force: bool = False
    durable: bool = True
    _pending: list[tuple[Path, Path]] = field(default_factory=list)
    _cleaned: set[Path] = field(default_factory=set)

    def check_targets(self, targets: list[Path]) -> None:
        """Refuse early (before any work is written) when a target exists and force is off."""
        for target in targets:
            if target.exists() and target.is_dir():
                raise OutputError(f"{target}: is a folder; it cannot be replaced by a file")
        existing = [t for t in targets if t.exists()]
        if existing and not self.force:
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise OutputError(f"{existing[0]}{more} already exist(s); use --force to overwrite")

    def write_bytes(self, target: Path, data: bytes) -> None:
        self.check_targets([target])
        temporary = _temporary_name(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._clean(target)
            _write_file(temporary, data, self.durable)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            self.discard()
            raise OutputError(_describe(exc, target)) from None
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        self._pending.append((temporary, target))

    def write_text(self, target: Path, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(target, text.encode(encoding))

    def _clean(self, target: Path) -> None:
        if target.parent not in self._cleaned:
            self._cleaned.add(target.parent)
            clean_stale(target.parent)

    def commit(self) -> list[Path]:
        """Move every temporary file into place; returns the targets written.

        If one cannot be moved, the files this run created are removed again and the rest discarded
        (a file overwritten with ``force`` before the failure keeps its new content).
        """
        created: list[Path] = []
        target = Path()
        try:
            for temporary, target in self._pending:
                existed = target.exists()
                _publish(temporary, target, self.force)
                if not existed:
                    created.append(target)
        except OSError as exc:
            for path in created:
                with contextlib.suppress(OSError):
                    path.unlink()
            self.discard()
            raise OutputError(_describe(exc, target)) from None
        written = [t for _, t in self._pending]
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


# ---------------------------------------------------------------------------------------------- a folder


def write_directory(out_dir: Path, files: dict[str, bytes], force: bool = False) -> list[Path]:
    """Write many files into ``out_dir``, all or none.

    A new folder is filled under a hidden temporary name beside it and renamed into place in one
    step, so it is either absent or complete. Into an existing folder each file goes through a
    hidden temporary file; every existing target is refused up front unless ``force``. Other files
    already in the folder are left alone.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder")
    for name in files:
        if not _plain_name(name):
            raise OutputError(f"{out_dir}: refusing the file name {name!r} (not a plain name)")
    if out_dir.exists():
        with output_set(force) as out:
            out.durable = False
            out.check_targets([out_dir / name for name in files])
            for name, data in files.items():
                out.write_bytes(out_dir / name, data)
        return [out_dir / name for name in files]
    return _write_new_directory(out_dir, files)


def _plain_name(name: str) -> bool:
    """A name of a file right in a folder: no folder separator, not empty, ``.`` or ``..``."""
    separators = "/" + (os.sep or "") + (os.altsep or "")
    return name not in ("", ".", "..") and not any(sep in name for sep in separators)


def _write_new_directory(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    staging = _temporary_name(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(out_dir.parent)
        os.mkdir(staging, 0o777)  # the umask applies, as to any new folder
    except OSError as exc:
        raise OutputError(_describe(exc, out_dir)) from None
    try:
        with _folder_handle(staging) as folder:
            _write_files(staging, list(files.items()), folder)
        _rename_new(staging, out_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(_describe(exc, out_dir)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out_dir / name for name in files]


PARALLEL_FILES = 256  # from this many files on, two threads create them (file creation waits on the kernel)


def _write_files(staging: Path, items: list[tuple[str, bytes]], folder: int | None) -> None:
    """Create the files in ``staging``; many files on two threads, each half its own. If either fails or
    is interrupted, the other stops at its next file and the error is raised once both have stopped."""
    stop = threading.Event()

    def write(part: list[tuple[str, bytes]]) -> None:
        try:
            for name, data in part:
                if stop.is_set():
                    return
                _write_file(name if folder is not None else staging / name, data, durable=False, dir_fd=folder)
        except BaseException:
            stop.set()
            raise

    if len(items) < PARALLEL_FILES:
        write(items)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mgr-write") as pool:  # leaving it waits for both
        other = pool.submit(write, items[1::2])
        try:
            write(items[0::2])
            other.result()
        except BaseException:
            stop.set()
            raise


def _rename_new(staging: Path, out_dir: Path) -> None:
    """Rename the filled folder into place; a folder of that name made meanwhile is an error, not a merge."""
    if out_dir.exists():
        raise OSError(errno.EEXIST, "exists")
    os.rename(staging, out_dir)  # rename(2) would replace an *empty* folder made in the last instant only
