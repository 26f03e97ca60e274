"""The README's library example runs as written, and says what it returns."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from conftest import ROOT


def test_the_library_example_runs_and_returns_what_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(from datetime import date\n.*?)```", text, re.S)
    assert block is not None, "the README has no library example"
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # the README's own example, as written
    assert namespace["result"].summary.total == Decimal("17847.21")
    assert namespace["result"].errors == []
    assert "Decimal('48.60')" in block.group(1) and "Decimal('17847.21')" in block.group(1)
