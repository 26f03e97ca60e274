"""Safe writes: every file appears complete or not at all, and nothing is overwritten unasked.

:class:`OutputSet` collects the files of one run in temporary files beside their targets and
moves them into place only when all were written, so an interrupted or failing run leaves the
previous state. Without ``force`` it refuses, before writing anything, when a target exists, and
a file that appears meanwhile (a concurrent run) is not overwritten either.

Temporary files and folders are hidden and recognisable: ``.<target name>.<host>-<pid>-<random>.tmp``.
A run that is killed (SIGKILL, power cut) cannot remove its own; the next run that writes into
the same folder removes every such leftover whose process is gone (same host) or that is older
than :data:`STALE_AFTER` seconds (another host sharing the folder). Ctrl-C (SIGINT) removes them at once.

:func:`stage` is the first half of a publication that must survive a crash *between* two steps
(issuing writes its files, commits the ledger, then publishes): the files are written complete
under hidden names, ``.<target>.<host>-<pid>-<token>.pending``, which no later run removes as
stale; :meth:`Staged.publish` moves them into place and can be repeated (by the next run, after a
crash) until everything is published. :class:`Staged` round-trips through JSON, so a ledger can
record a publication that is still pending.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["STALE_AFTER", "Collected", "OutputError", "OutputSet", "Staged", "clean_stale", "output_set", "stage",
           "write_atomically", "write_directory"]

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
_PENDING = re.compile(r"^\..+\.([0-9a-f]{8})-([0-9]+)-([0-9a-f]{16})\.pending$", re.DOTALL)


def _owner(name: str) -> tuple[str, int] | None:
    """(host, pid) of a temporary name made by :func:`_temporary_name`, else None."""
    match = _TEMPORARY.match(name)
    return (match.group(1), int(match.group(2))) if match else None


def _pending_name(target: Path, token: str) -> Path:
    return target.with_name(f".{target.name}.{_HOST}-{os.getpid()}-{token}.pending")


def pending_token(name: str) -> tuple[str, int, str] | None:
    """(host, pid, token) of a staged name made by :func:`stage`, else None."""
    match = _PENDING.match(name)
    return (match.group(1), int(match.group(2)), match.group(3)) if match else None


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


def clean_stale(folder: Path, still_pending: Callable[[str], bool] | None = None) -> list[Path]:
    """Remove the temporaries that killed runs left in ``folder``; returns what was removed.

    Staged ``.pending`` files and folders are removed only when ``still_pending`` is given and says
    their token is not pending (their run died before its ledger committed); never otherwise.
    """
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        owner = _owner(entry.name)
        staged = pending_token(entry.name) if owner is None and still_pending is not None else None
        if staged is not None and still_pending is not None and _stale(entry, staged[0], staged[1]) \
                and not still_pending(staged[2]):
            owner = staged[:2]
        elif owner is None or not _stale(entry, *owner):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    return removed


# ------------------------------------------------------------------------------------------------- one file


@dataclass(frozen=True)
class Streamed:
    """A file's content made part by part while it is written, so that a large file is never whole in memory
    (the accounting import of ten million rows). ``parts`` is called once per write."""

    parts: Callable[[], Iterable[bytes]]

    def __bytes__(self) -> bytes:
        return b"".join(self.parts())


Content = bytes | Streamed
"""What a file of an output holds: its bytes, or the parts to write one after the other."""


def _write_file(path: Path | str, data: Content, durable: bool, dir_fd: int | None = None) -> None:
    """Create ``path`` (it must not exist; relative to ``dir_fd`` if given) with ``data``; permissions follow
    the umask, like any new file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    handle = os.open(path, flags, 0o666, dir_fd=dir_fd)
    try:
        for part in data.parts() if isinstance(data, Streamed) else (data,):
            view = memoryview(part)
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
        self.write_content(target, data)

    def write_content(self, target: Path, data: Content) -> None:
        """Write ``target`` under a temporary name, to be moved into place by :meth:`commit`."""
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


def write_directory(out_dir: Path, files: Mapping[str, Content], force: bool = False) -> list[Path]:
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
                out.write_content(out_dir / name, data)
        if force:
            _drop_earlier_run(out_dir, set(files))
        return [out_dir / name for name in files]
    return _write_new_directory(out_dir, files)


EARLIER_RUN = re.compile(r"^(?:concept|factuur|creditnota)-[a-z0-9.-]+\.(?:csv|xml|pdf)$|"
                         r"^(?:regels\.csv|samenvatting\.csv|facturen\.xlsx|afgekeurd\.csv)$")
"""The names ``mgr bill`` gives its files (:mod:`mgr_tariffs.documents.naming`)."""


def _drop_earlier_run(out_dir: Path, kept: set[str]) -> None:
    """With ``--force`` a folder holds one run: the files of an earlier run that this one did not write again are
    removed — after the new files are in place (never a delete-then-create), and only files named as ``mgr``
    names them: anything else in the folder is left alone."""
    for entry in os.scandir(out_dir):
        if entry.name not in kept and entry.is_file(follow_symlinks=False) and EARLIER_RUN.match(entry.name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def _plain_name(name: str) -> bool:
    """A name of a file right in a folder: no folder separator, not empty, ``.`` or ``..``."""
    separators = "/" + (os.sep or "") + (os.altsep or "")
    return name not in ("", ".", "..") and not any(sep in name for sep in separators)


def _write_new_directory(out_dir: Path, files: Mapping[str, Content]) -> list[Path]:
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


def _write_files(staging: Path, items: list[tuple[str, Content]], folder: int | None) -> None:
    """Create the files in ``staging``; many files on two threads, each half its own. If either fails or
    is interrupted, the other stops at its next file and the error is raised once both have stopped."""
    stop = threading.Event()

    def write(part: list[tuple[str, Content]]) -> None:
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


# ------------------------------------------------------------------------------------- staged publication


class Collected(OutputSet):
    """An output set that only gathers file contents (path -> bytes), to be staged or written later."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[Path, bytes] = {}

    def check_targets(self, targets: list[Path]) -> None:
        return None  # whoever writes the collected files checks every target of the run together

    def write_bytes(self, target: Path, data: bytes) -> None:
        self.files[target] = data


@dataclass(frozen=True)
class StagedEntry:
    """One staged file or folder: where it waits and where it goes."""

    staging: Path
    target: Path
    folder: bool


@dataclass
class Staged:
    """Files written complete under hidden names, waiting to be moved into place by :meth:`publish`."""

    token: str
    entries: list[StagedEntry]
    force: bool = False

    def to_json(self) -> str:
        return json.dumps({"token": self.token, "force": self.force, "entries": [
            {"staging": str(e.staging), "target": str(e.target), "folder": e.folder} for e in self.entries]})

    @classmethod
    def from_json(cls, text: str) -> Staged:
        data = json.loads(text)
        return cls(str(data["token"]), [StagedEntry(Path(e["staging"]), Path(e["target"]), bool(e["folder"]))
                                        for e in data["entries"]], bool(data["force"]))

    @property
    def targets(self) -> list[Path]:
        return [e.target for e in self.entries]

    def waiting(self) -> list[Path]:
        """The staged files and folders that are not published yet."""
        return [e.staging for e in self.entries if e.staging.exists()]

    def publish(self, rollback: bool = False) -> list[Path]:
        """Move everything staged into place; returns the targets. Can be repeated after a crash: what
        was moved already is no longer staged and is skipped.

        A new folder is renamed into place in one step; into an existing folder file by file (without
        ``force`` never over a file that exists). ``rollback``: when one move fails, what this call
        published is removed again (for runs without a ledger, which have nothing to recover from).
        Raises :class:`OutputError`; what was not moved stays staged.
        """
        created: list[Path] = []
        entry = self.entries[0] if self.entries else None
        try:
            for entry in self.entries:
                if entry.staging.exists():
                    self._move(entry, created)
        except OSError as exc:
            if rollback:
                self._undo(created)
                self.discard()
            assert entry is not None
            raise OutputError(_describe(exc, entry.target).replace("nothing was written", (
                "nothing was written" if rollback else f"the rest waits in {entry.staging}"))) from None
        return self.targets

    def _move(self, entry: StagedEntry, created: list[Path]) -> None:
        """Publish one entry; adds to ``created`` what did not exist before (a new folder, or new files)."""
        if not entry.folder:
            new = not entry.target.exists()
            _publish_again(entry.staging, entry.target, self.force)
            if new:
                created.append(entry.target)
            return
        if not entry.target.exists():
            try:
                os.rename(entry.staging, entry.target)
                created.append(entry.target)
                return
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not entry.target.is_dir():
                    raise
        for item in sorted(entry.staging.iterdir()):
            target = entry.target / item.name
            new = not target.exists()
            _publish_again(item, target, self.force)
            if new:
                created.append(target)
        os.rmdir(entry.staging)

    @staticmethod
    def _undo(created: list[Path]) -> None:
        for path in reversed(created):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()

    def discard(self) -> None:
        """Remove whatever is still staged (the run failed before its commit)."""
        for entry in self.entries:
            if entry.folder and entry.staging.is_dir() and not entry.staging.is_symlink():
                shutil.rmtree(entry.staging, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.staging.unlink()


def _publish_again(staging: Path, target: Path, force: bool) -> None:
    """:func:`_publish`, also when a crash came between its link and its unlink (then only the unlink)."""
    if not force and target.exists():
        with contextlib.suppress(OSError):
            if os.path.samefile(staging, target):
                os.unlink(staging)
                return
    _publish(staging, target, force)


def _check_staging_targets(folders: Mapping[Path, Mapping[str, Content]], files: Mapping[Path, bytes],
                           force: bool) -> None:
    for out_dir, named in folders.items():
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputError(f"{out_dir}: exists and is not a folder")
        bad = [name for name in named if not _plain_name(name)]
        if bad:
            raise OutputError(f"{out_dir}: refusing the file name {bad[0]!r} (not a plain name)")
        if out_dir.is_dir():
            OutputSet(force=force).check_targets([out_dir / name for name in named])
    OutputSet(force=force).check_targets(list(files))
    singles = [t.absolute() for t in files]
    inside = {d.absolute(): named for d, named in folders.items()}
    if len(set(singles)) != len(singles) or len(inside) != len(folders) or any(
            t.name in inside.get(t.parent, ()) or t in inside for t in singles):
        raise OutputError("two outputs of this run have the same name; nothing was written")


def stage(folders: Mapping[Path, Mapping[str, Content]], files: Mapping[Path, bytes] | None = None, *,
          force: bool = False, still_pending: Callable[[str], bool] | None = None) -> Staged:
    """Write every file of a run complete under hidden names, to be published later (:class:`Staged`).

    ``folders``: a folder and its files (name -> content); ``files``: single files. Every target is
    checked first (existing ones refused without ``force``); nothing is left behind when writing
    fails. ``still_pending`` tells :func:`clean_stale` which staged leftovers a ledger still needs.
    """
    single = dict(files or {})
    _check_staging_targets(folders, single, force)
    token = secrets.token_hex(8)
    written: list[StagedEntry] = []
    try:
        for out_dir, named in folders.items():
            out_dir.absolute().parent.mkdir(parents=True, exist_ok=True)
            clean_stale(out_dir.absolute().parent, still_pending)
            temporary = _temporary_name(out_dir.absolute())
            os.mkdir(temporary, 0o777)
            written.append(StagedEntry(temporary, out_dir.absolute(), True))
            with _folder_handle(temporary) as handle:
                _write_files(temporary, list(named.items()), handle)
        for target, data in single.items():
            target.absolute().parent.mkdir(parents=True, exist_ok=True)
            clean_stale(target.absolute().parent, still_pending)
            temporary = _temporary_name(target.absolute())
            written.append(StagedEntry(temporary, target.absolute(), False))
            _write_file(temporary, data, durable=True)
        entries = []
        for entry in written:  # complete: from now on no run removes them as stale
            pending = _pending_name(entry.target, token)
            os.rename(entry.staging, pending)
            entries.append(StagedEntry(pending, entry.target, entry.folder))
            written[written.index(entry)] = entries[-1]
    except OSError as exc:
        Staged(token, written).discard()
        where = written[-1].target if written else next(iter([*folders, *single]), Path("."))
        raise OutputError(_describe(exc, where)) from None
    except BaseException:
        Staged(token, written).discard()
        raise
    return Staged(token, entries, force)
