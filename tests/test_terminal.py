"""The main command as a person sees it: in a real terminal 80 columns wide (tmux), and piped."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import ROOT

from mgr_tariffs.billing.engine import bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.money import format_euro

EXAMPLE = ROOT / "data" / "examples" / "hours.csv"
COMMAND = [sys.executable, "-c", "from mgr_tariffs.entry import main; main()"]


def test_piped_output_is_plain_text() -> None:
    run = subprocess.run([*COMMAND, "bill", str(EXAMPLE)], capture_output=True, text=True, cwd=ROOT, check=False,
                         env={**os.environ, "COLUMNS": "80"})
    assert run.returncode == 0, run.stderr
    assert not re.search("[\u2500-\u257f]", run.stdout), "no box drawing when piped"
    assert "\x1b[" not in run.stdout and "\x1b[" not in run.stderr, "no colour when piped"
    assert run.stdout.splitlines()[0] == "tarieven data/tariffs.yaml"
    assert "€ 17.847,21" in run.stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_at_80_columns_nothing_that_identifies_is_cut(tmp_path: Path, lookup: Lookup) -> None:
    session = f"mgr-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "run.sh"
    done = tmp_path / "done"
    script.write_text(f"cd {ROOT} && {' '.join(COMMAND[:2])} '{COMMAND[2]}' bill {EXAMPLE}; touch {done}; sleep 30\n",
                      encoding="utf-8")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "200", f"bash {script}"], check=True)
    try:
        for _ in range(300):
            if done.exists():
                break
            time.sleep(0.1)
        assert done.exists(), "mgr bill did not finish in the terminal"
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session, "-S", "-200"], capture_output=True,
                                text=True, check=True).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    lines = screen.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any("┃" in line or "│" in line for line in lines), "a terminal gets drawn tables"
    assert "…" not in screen, "nothing is cut short"
    periods = re.findall(r"│ (\d{4}-\d{2}) │", screen)
    assert len(periods) == 39 and "€ 17.847,21" in screen
    amounts = re.findall(r"│ +(€ [\d.]+,\d{2}) │", screen)
    summary = bill([EXAMPLE], lookup).summary
    expected = [*(i for i in (format_euro(v) for v in summary.by_municipality.values())),
                *(format_euro(v) for v in summary.by_provider.values())]
    assert len(amounts) == 39 + len(expected) and amounts[39:] == expected, "every total in full"
