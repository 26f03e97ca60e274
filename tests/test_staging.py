"""Staged publication (``io.atomic.stage`` / ``Staged``): files written complete under hidden names, published
later (also by another process after a crash), repeatable, and never removed as stale while a ledger needs them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mgr_tariffs.io.atomic import OutputError, Staged, clean_stale, stage


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_nothing_is_visible_until_published_and_publishing_again_is_harmless(tmp_path: Path) -> None:
    staged = stage({tmp_path / "out": {"a.csv": b"a", "b.csv": b"b"}}, {tmp_path / "afgekeurd.csv": b"r"})
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == []
    assert len(hidden(tmp_path)) == 2 and all(n.endswith(".pending") for n in hidden(tmp_path))
    again = Staged.from_json(staged.to_json())  # what the ledger records, read back by the next run
    assert again == staged
    again.publish()
    again.publish()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.csv", "b.csv"]
    assert (tmp_path / "afgekeurd.csv").read_bytes() == b"r" and hidden(tmp_path) == []


def test_a_publication_cut_short_is_completed_by_publishing_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    staged = stage({out: {"a.csv": b"a", "b.csv": b"b"}})
    folder = staged.entries[0].staging
    os.link(folder / "a.csv", out / "a.csv")  # a crash between the link of a.csv and its unlink
    staged.publish()
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv"] and hidden(tmp_path) == []


def test_existing_targets_are_refused_before_anything_is_staged(tmp_path: Path) -> None:
    (tmp_path / "afgekeurd.csv").write_text("keep")
    with pytest.raises(OutputError, match="already exist"):
        stage({tmp_path / "out": {"a.csv": b"a"}}, {tmp_path / "afgekeurd.csv": b"r"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afgekeurd.csv"]


def test_rollback_removes_what_was_published_when_a_later_move_fails(tmp_path: Path) -> None:
    staged = stage({tmp_path / "out": {"a.csv": b"a"}}, {tmp_path / "afgekeurd.csv": b"r"})
    (tmp_path / "afgekeurd.csv").write_text("appeared meanwhile")
    with pytest.raises(OutputError, match="appeared while this run was writing"):
        staged.publish(rollback=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afgekeurd.csv"]
    assert (tmp_path / "afgekeurd.csv").read_text() == "appeared meanwhile"


def test_staged_leftovers_are_removed_only_when_no_ledger_waits_for_them(tmp_path: Path) -> None:
    staged = stage({tmp_path / "out": {"a.csv": b"a"}})
    pending = staged.entries[0].staging
    dead = pending.with_name(pending.name.replace(f"-{os.getpid()}-", "-999999999-"))
    os.rename(pending, dead)  # as if its process had died
    assert clean_stale(tmp_path) == []  # the cleaning every write does never touches staged files
    assert clean_stale(tmp_path, lambda token: token == staged.token) == []  # a ledger still waits for it
    assert clean_stale(tmp_path, lambda token: False) == [dead]  # its run died before the commit


def test_rollback_into_an_existing_folder_removes_only_the_files_it_added(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "other.txt").write_text("mine")
    staged = stage({out: {"a.csv": b"a"}}, {tmp_path / "afgekeurd.csv": b"r"})
    (tmp_path / "afgekeurd.csv").write_text("appeared meanwhile")
    with pytest.raises(OutputError):
        staged.publish(rollback=True)
    assert sorted(p.name for p in out.iterdir()) == ["other.txt"] and hidden(tmp_path) == []
