"""`mgr validate` checks every kind of YAML the tool reads, and honours $MGR_TARIFFS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, TARIFFS
from typer.testing import CliRunner

from mgr_tariffs.cli import app
from mgr_tariffs.validation import Kind, kind_of

EXAMPLES = ROOT / "data" / "examples"


def test_the_kind_is_told_by_the_sections() -> None:
    assert kind_of(TARIFFS.read_text(encoding="utf-8")) is Kind.CATALOGUE
    assert kind_of((EXAMPLES / "parties.yaml").read_text(encoding="utf-8")) is Kind.PARTIES
    assert kind_of((EXAMPLES / "subsidie-weert-2018.yaml").read_text(encoding="utf-8")) is Kind.SUBSIDIES
    assert kind_of("version: 1\n") is Kind.CATALOGUE


def test_every_shipped_yaml_file_validates(runner: CliRunner) -> None:
    run = runner.invoke(app, ["validate", str(TARIFFS), str(EXAMPLES / "parties.yaml"),
                              str(EXAMPLES / "subsidie-weert-2018.yaml"), "--format", "json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout) == {"files": 3, "errors": 0, "warnings": 0, "ok": True, "problems": []}


def test_a_broken_parties_file_is_reported_with_its_line(runner: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "parties.yaml"
    text = (EXAMPLES / "parties.yaml").read_text(encoding="utf-8").replace('kvk: "90412345"', 'kvk: "1234"', 1)
    broken.write_text(text, encoding="utf-8")
    line = text[:text.index('kvk: "1234"')].count("\n") + 1
    run = runner.invoke(app, ["validate", str(broken)])
    assert run.exit_code == 1
    assert f"{broken}:{line}: error:" in run.output and "kvk" in run.output


def test_validate_honours_mgr_tariffs(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "tarieven.yaml"
    copy.write_text(TARIFFS.read_text(encoding="utf-8").replace("amount: 47.04", "amount: -47.04", 1),
                    encoding="utf-8")
    monkeypatch.setenv("MGR_TARIFFS", str(copy))
    run = runner.invoke(app, ["validate"])
    assert run.exit_code == 1 and str(copy) in run.output and "must be more than zero" in run.output
