"""Shared fixtures: the shipped catalogue, a CLI runner, paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mgr_tariffs.catalogue.loader import Lookup, load_catalogue

ROOT = Path(__file__).resolve().parent.parent
TARIFFS = ROOT / "data" / "tariffs.yaml"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def lookup() -> Lookup:
    result = load_catalogue(TARIFFS)
    assert result.catalogue is not None, result.problems
    return Lookup(result.catalogue)


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    """Where a test's ledger goes (not created yet)."""
    return tmp_path / "ledger.sqlite"
