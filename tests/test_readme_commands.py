"""The README's commands run as written, in README order, in a fresh copy of the repository (next to ../shared).

A line runs in bash with ``mgr`` as the installed entry point; it must end with exit 0, or with the exit code its
comment names (``# exit 1``). Lines about the reader's own files say so (``# your files``) and are not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

SHARED = ROOT.parent / "shared"


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for raw in block.replace("\\\n", " ").splitlines():
            line = raw.strip().removeprefix("$ ")
            if line.startswith("mgr ") and "# your files" not in line:
                found.append(line)
    return found


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not beside the repository")
def test_the_readme_commands_run_in_order(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".git", ".venv", "*.sqlite*", "__pycache__",
                                                               "bench", ".mypy_cache", ".ruff_cache"))
    (tmp_path / "shared").symlink_to(SHARED)
    prelude = f'mgr() {{ "{sys.executable}" -c "from mgr_tariffs.entry import main; main()" "$@"; }}\n'
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("MGR_LEDGER", None)
    env.pop("MGR_TARIFFS", None)
    commands = readme_commands()
    assert len(commands) > 30
    for line in commands:
        wanted = int(m.group(1)) if (m := re.search(r"#\s*exit (\d)", line)) else 0
        run = subprocess.run(["bash", "-c", prelude + line], cwd=work, env=env, capture_output=True, text=True,
                             check=False, timeout=300)
        assert run.returncode == wanted, f"{line}\nexit {run.returncode}\n{run.stdout[-1500:]}\n{run.stderr[-1500:]}"
        assert "Traceback" not in run.stderr, line
