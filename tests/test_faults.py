"""Faults lose nothing: atomic writes, no overwrite without --force, disk full, read-only, leftovers.

The interrupted-run tests (SIGINT and SIGKILL on a 1,000,000-row ``mgr bill --out``) are in
``test_faults_interrupt.py``; they are marked ``slow``.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus.hostile import HEADER, ROW, mgr

from mgr_tariffs.io import atomic
from mgr_tariffs.io.atomic import OutputError, OutputSet, clean_stale, output_set, write_atomically, write_directory

pytestmark = pytest.mark.timeout(60)

BAD_ROW = "2021-03-02;123456789;Werkbedrijf;Venlo;LN035;1;\n"  # fails the elfproef
FILES = {f"f{i}.csv": f"file {i}\n".encode() * (i + 1) for i in range(5)}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def patch_os(monkeypatch: pytest.MonkeyPatch, **overrides: object) -> None:
    """Replace functions of ``os`` as seen by mgr_tariffs.atomic only (the rest of the process keeps the real ones)."""
    fake = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os) if not name.startswith("__")})
    for name, function in overrides.items():
        setattr(fake, name, function)
    monkeypatch.setattr(atomic, "os", fake)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def failing_write(after: int, code: int) -> object:
    """An ``os.write`` that writes ``after`` calls normally, then fails like a full or read-only disk."""
    real = os.write
    calls = {"n": 0}

    def write(fd: int, data: bytes | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(code, os.strerror(code))
        return real(fd, data)

    return write


@pytest.fixture()
def log(tmp_path: Path) -> Path:
    path = tmp_path / "hours.csv"
    path.write_text(HEADER + ROW + ROW.replace("Venlo", "Venray").replace("03-01", "03-05"))
    return path


@pytest.fixture()
def log_with_rejects(tmp_path: Path) -> Path:
    path = tmp_path / "hours_bad.csv"
    path.write_text(HEADER + ROW + BAD_ROW)
    return path


# ---------------------------------------------------------------------------------------- atomic, unit level


def test_a_new_folder_appears_complete_and_nothing_else(tmp_path: Path) -> None:
    written = write_directory(tmp_path / "out", FILES)
    assert sorted(p.name for p in written) == sorted(FILES)
    assert snapshot(tmp_path / "out") == FILES
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_existing_folder_is_refused_without_force_and_kept_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_directory(out, FILES)
    (out / "mine.txt").write_text("keep me")
    before = snapshot(out)
    with pytest.raises(OutputError, match=r"already exist.*--force"):
        write_directory(out, {name: b"new" for name in FILES})
    assert snapshot(out) == before and not leftovers(out)


def test_force_replaces_the_targets_and_leaves_other_files_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_directory(out, FILES)
    (out / "mine.txt").write_text("keep me")
    write_directory(out, {name: b"new" for name in FILES}, force=True)
    assert snapshot(out) == {**{name: b"new" for name in FILES}, "mine.txt": b"keep me"}
    assert not leftovers(out)


def test_new_names_in_an_existing_folder_need_no_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write_directory(out, FILES)
    assert snapshot(out) == FILES


def test_refuses_a_file_where_the_folder_should_be_and_odd_names(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")
    with pytest.raises(OutputError, match="not a folder"):
        write_directory(tmp_path / "out", FILES)
    for name in ("../escape.csv", "a/b.csv", "..", ""):
        with pytest.raises(OutputError, match="not a plain name"):
            write_directory(tmp_path / "new", {name: b"x"})
    assert not (tmp_path / "new").exists() and not (tmp_path / "escape.csv").exists()


def test_a_single_file_is_never_overwritten_without_force(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    write_atomically(target, b"one")
    with pytest.raises(OutputError, match="already exist"):
        write_atomically(target, b"two")
    assert target.read_bytes() == b"one"
    write_atomically(target, b"two", force=True)
    assert target.read_bytes() == b"two" and leftovers(tmp_path) == []


def test_a_folder_cannot_be_replaced_by_a_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        write_atomically(tmp_path / "a.csv", b"x", force=True)


def test_a_file_that_appears_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    """Two runs at once: the second to commit fails instead of silently replacing the first's file."""
    target = tmp_path / "a.csv"
    outputs = OutputSet()
    outputs.write_bytes(tmp_path / "first.csv", b"mine")
    outputs.write_bytes(target, b"mine")
    target.write_bytes(b"the other run")
    with pytest.raises(OutputError, match="appeared while this run was writing"):
        outputs.commit()
    assert target.read_bytes() == b"the other run"
    assert not (tmp_path / "first.csv").exists(), "a file of the failed set stayed"
    assert leftovers(tmp_path) == []


def test_a_folder_that_appears_meanwhile_is_not_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    real = atomic._write_file

    def write_then_race(path: Path | str, data: bytes, durable: bool, dir_fd: int | None = None) -> None:
        real(path, data, durable, dir_fd)
        if not out.exists():
            out.mkdir()
            (out / "theirs.csv").write_text("the other run")

    monkeypatch.setattr(atomic, "_write_file", write_then_race)
    with pytest.raises(OutputError, match="appeared while this run was writing"):
        write_directory(out, FILES)
    assert snapshot(out) == {"theirs.csv": b"the other run"}
    assert leftovers(tmp_path) == []


def test_an_error_inside_output_set_discards_everything(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), output_set() as outputs:
        outputs.write_bytes(tmp_path / "a.csv", b"a")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_files_get_the_usual_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    write_directory(tmp_path / "out", FILES)
    write_atomically(tmp_path / "one.csv", b"x")
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~mask
    assert (tmp_path / "one.csv").stat().st_mode & 0o777 == 0o666 & ~mask


# ------------------------------------------------------------------------------------------- disk full (ENOSPC)


@pytest.mark.parametrize("after", [0, 2, 4])
def test_disk_full_while_filling_a_new_folder_leaves_nothing(after: int, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    patch_os(monkeypatch, write=failing_write(after, errno.ENOSPC))
    with pytest.raises(OutputError, match="disk is full"):
        write_directory(tmp_path / "out", FILES)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("after", [0, 3])
def test_disk_full_in_an_existing_folder_keeps_the_old_files(after: int, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_directory(out, FILES)
    before = snapshot(out)
    patch_os(monkeypatch, write=failing_write(after, errno.ENOSPC))
    with pytest.raises(OutputError, match="disk is full"):
        write_directory(out, {name: b"new" for name in FILES}, force=True)
    assert snapshot(out) == before and leftovers(out) == []


def test_disk_full_for_a_single_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.csv").write_bytes(b"old")
    patch_os(monkeypatch, write=failing_write(0, errno.ENOSPC))
    with pytest.raises(OutputError, match="disk is full"):
        write_atomically(tmp_path / "a.csv", b"new" * 1000, force=True)
    assert snapshot(tmp_path) == {"a.csv": b"old"} and leftovers(tmp_path) == []


def test_mgr_bill_on_a_full_disk(log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patch_os(monkeypatch, write=failing_write(1, errno.ENOSPC))
    run = mgr("bill", log, "--out", tmp_path / "out")
    assert run.code == 1 and "disk is full" in run.stderr and "Traceback" not in run.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hours.csv"]


def test_mgr_bill_rejects_on_a_full_disk(log_with_rejects: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    patch_os(monkeypatch, write=failing_write(0, errno.ENOSPC))
    run = mgr("bill", log_with_rejects, "--skip-invalid", "--rejects", tmp_path / "rejects.csv")
    assert run.code == 1 and "disk is full" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hours_bad.csv"]


# ------------------------------------------------------------------------------------------------- read-only


@pytest.fixture()
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder the kernel refuses to write into: chmod for a normal user; as root (chmod does not stop
    root) the immutable attribute (chattr +i, needs CAP_LINUX_IMMUTABLE and ext2/3/4, xfs, btrfs)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "old.csv").write_text("old")
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], check=False, capture_output=True).returncode != 0:
        pytest.skip("running as root without a working chattr +i: see the monkeypatched EROFS tests")
    try:
        yield folder
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_a_read_only_folder_is_refused_clearly(read_only_folder: Path) -> None:
    with pytest.raises(OutputError, match="read-only"):
        write_directory(read_only_folder, FILES)
    with pytest.raises(OutputError, match="read-only"):
        write_directory(read_only_folder / "sub", FILES)
    with pytest.raises(OutputError, match="read-only"):
        write_atomically(read_only_folder / "old.csv", b"new", force=True)
    assert snapshot(read_only_folder) == {"old.csv": b"old"}


def test_mgr_bill_into_a_read_only_folder(log: Path, log_with_rejects: Path, read_only_folder: Path) -> None:
    arguments: tuple[list[str | Path], ...] = (
        ["--out", read_only_folder / "out"], ["--out", read_only_folder, "--force"],
        ["--skip-invalid", "--rejects", read_only_folder / "rejects.csv"])
    for args in arguments:
        source = log_with_rejects if "--skip-invalid" in args else log
        run = mgr("bill", source, *args)
        assert run.code == 1 and "read-only" in run.stderr and "Traceback" not in run.output, run.output
    assert snapshot(read_only_folder) == {"old.csv": b"old"}


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EPERM])
def test_read_only_file_system_simulated(code: int, log: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Where neither chmod nor chattr can make a folder read-only, the kernel's answer is simulated."""
    def refuse(*_: object, **__: object) -> None:
        raise OSError(code, os.strerror(code))

    patch_os(monkeypatch, mkdir=refuse, open=refuse)
    run = mgr("bill", log, "--out", tmp_path / "out")
    assert run.code == 1 and "read-only" in run.stderr and "Traceback" not in run.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hours.csv"]


# ------------------------------------------------------------------------------------------ mgr bill --out


def test_mgr_bill_out_new_existing_and_force(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = mgr("bill", log, "--out", out)
    assert first.code == 0, first.output
    before = snapshot(out)
    assert "samenvatting.csv" in before and len(before) == 2  # regels.csv and samenvatting.csv
    again = mgr("bill", log, "--out", out)
    assert again.code == 1 and "--force" in again.stderr and "Traceback" not in again.output
    assert snapshot(out) == before and leftovers(out) == []
    forced = mgr("bill", log, "--out", out, "--force")
    assert forced.code == 0 and snapshot(out) == before and leftovers(out) == []


def test_mgr_bill_rejects_file_is_not_overwritten_without_force(log_with_rejects: Path, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    rejects.write_text("mine")
    run = mgr("bill", log_with_rejects, "--skip-invalid", "--rejects", rejects)
    assert run.code == 1 and "--force" in run.stderr
    assert rejects.read_text() == "mine"


def test_mgr_bill_rejects_file_is_overwritten_with_force(log_with_rejects: Path, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    rejects.write_text("mine")
    assert mgr("bill", log_with_rejects, "--skip-invalid", "--rejects", rejects, "--force").code == 0
    assert "123456789" in rejects.read_text(encoding="utf-8-sig")


def test_a_refused_rejects_file_writes_no_out_folder(log_with_rejects: Path, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    rejects.write_text("mine")
    run = mgr("bill", log_with_rejects, "--skip-invalid", "--rejects", rejects, "--out", tmp_path / "out")
    assert run.code == 1
    assert not (tmp_path / "out").exists()


def test_strict_failure_writes_nothing(log_with_rejects: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = mgr("bill", log_with_rejects, "--out", tmp_path / "out")
    assert run.code == 1 and "nothing written" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hours_bad.csv"]


# -------------------------------------------------------------------------------- leftovers of killed runs


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_dead_runs_are_removed_by_the_next_run(tmp_path: Path) -> None:
    pid = dead_pid()
    host = atomic._HOST
    stale_dir = tmp_path / f".out.{host}-{pid}-0123abcd.tmp"
    stale_dir.mkdir()
    (stale_dir / "half.csv").write_text("half")
    stale_file = tmp_path / f".a.csv.{host}-{pid}-deadbeef.tmp"
    stale_file.write_text("half")
    alive = tmp_path / f".b.csv.{host}-{os.getppid()}-00000000.tmp"  # a running process: maybe mid-write
    alive.write_text("busy")
    foreign_recent = tmp_path / f".c.csv.ffffffff-{pid}-11111111.tmp"  # another host: only removed when old
    foreign_recent.write_text("theirs")
    foreign_old = tmp_path / f".d.csv.ffffffff-{pid}-22222222.tmp"
    foreign_old.write_text("theirs")
    old = time.time() - atomic.STALE_AFTER - 60
    os.utime(foreign_old, (old, old))
    unrelated = tmp_path / ".config.tmp"
    unrelated.write_text("not ours")
    write_directory(tmp_path / "out", FILES)
    remaining = {p.name for p in tmp_path.iterdir()}
    assert remaining == {"out", alive.name, foreign_recent.name, unrelated.name}


def test_clean_stale_on_a_missing_folder_is_harmless(tmp_path: Path) -> None:
    assert clean_stale(tmp_path / "missing") == []


def test_keyboard_interrupt_while_writing_removes_the_staging_folder(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real = atomic._write_file
    calls = {"n": 0}

    def interrupted(path: Path | str, data: bytes, durable: bool, dir_fd: int | None = None) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(path, data, durable, dir_fd)

    monkeypatch.setattr(atomic, "_write_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_directory(tmp_path / "out", FILES)
    assert list(tmp_path.iterdir()) == []
    calls["n"] = 0
    (tmp_path / "existing").mkdir()
    with pytest.raises(KeyboardInterrupt):
        write_directory(tmp_path / "existing", FILES)
    assert list((tmp_path / "existing").iterdir()) == []


MANY = {f"f{i}.csv": f"file {i}\n".encode() for i in range(atomic.PARALLEL_FILES * 2)}


def test_many_files_are_written_on_two_threads_all_of_them(tmp_path: Path) -> None:
    write_directory(tmp_path / "out", MANY)
    assert snapshot(tmp_path / "out") == MANY
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("failing", ["f1.csv", "f300.csv"])  # odd names: the second thread's half; even: the first's
@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_in_either_writing_thread_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           failing: str, error: BaseException) -> None:
    real = atomic._write_file

    def write(path: Path | str, data: bytes, durable: bool, dir_fd: int | None = None) -> None:
        if Path(path).name == failing:
            raise error
        real(path, data, durable, dir_fd)

    monkeypatch.setattr(atomic, "_write_file", write)
    with pytest.raises(OutputError if isinstance(error, OSError) else KeyboardInterrupt):
        write_directory(tmp_path / "out", MANY)
    assert list(tmp_path.iterdir()) == []
