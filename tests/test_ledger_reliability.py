"""Reliability of the ledger: killed mid-write, two writers at once, busy, corrupt or foreign files."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TARIFFS
from typer.testing import CliRunner

from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli import app
from mgr_tariffs.ledger import store as ledger
from mgr_tariffs.ledger.store import LedgerError

TODAY = dt.date(2024, 3, 1)

# Writes hour logs of fresh rows (LN034 in 2021 with a revenue that makes every row new) and
# issues them into the ledger, crediting now and then, until it is killed or has done `rounds`.
DRIVER = '''
import datetime as dt, json, random, sys
from pathlib import Path
from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue
from mgr_tariffs.ledger import store as ledger

tariffs, book, folder, seed, rows, rounds = sys.argv[1:7]
rng = random.Random(int(seed))
lookup = Lookup(load_catalogue(Path(tariffs)).catalogue)

def bsn():
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        last = sum(d * w for d, w in zip(digits, range(9, 1, -1))) % 11
        if last < 10 and digits[0]:
            return "".join(map(str, digits)) + str(last)

clients = [bsn() for _ in range(40)]
print("ready", flush=True)
issued = already = 0
numbers = []
for round_ in range(int(rounds)):
    log = Path(folder) / f"log-{seed}-{round_}.csv"
    lines = ["datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst"]
    for i in range(int(rows)):
        day = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(365))
        lines.append(f"{day};{rng.choice(clients)};Aanbieder {rng.randrange(3)};"
                     f"{rng.choice(['Gennep', 'Beesel', 'Venlo'])};LN034;2;{round_},{i % 100:02d}")
    log.write_text("\\n".join(lines) + "\\n")
    result = bill([log], lookup, BillOptions(today=dt.date(2024, 3, 1)))
    done = ledger.issue(result, Path(book), issue_date=dt.date(2024, 3, 1), lookup=lookup)
    issued += done.rows_issued
    already += done.rows_already_billed
    numbers += [(i["provider"], n) for i, n in zip(done.invoice_frame.to_dicts(), done.numbers)]
    if round_ % 3 == 2 and done.numbers:
        first = done.invoice_frame.row(0, named=True)
        ledger.credit(Path(book), done.numbers[0], provider=first["provider"], reason="test",
                      issue_date=dt.date(2024, 3, 1))
print(json.dumps({"issued": issued, "already": already, "numbers": numbers}), flush=True)
'''

SHARED_LOG = '''
import datetime as dt, json, sys, time
from pathlib import Path
from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue
from mgr_tariffs.ledger import store as ledger

tariffs, book, log, go = sys.argv[1:5]
lookup = Lookup(load_catalogue(Path(tariffs)).catalogue)
result = bill([Path(log)], lookup, BillOptions(today=dt.date(2024, 3, 1)))
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.005)
done = ledger.issue(result, Path(book), issue_date=dt.date(2024, 3, 1), lookup=lookup)
print(json.dumps({"issued": done.rows_issued, "already": done.rows_already_billed,
                  "numbers": [[i["provider"], n] for i, n in zip(done.invoice_frame.to_dicts(), done.numbers)]}))
'''


def _start(script: Path, *args: object) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, str(script), *map(str, args)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def test_killed_at_random_moments_the_ledger_stays_consistent(tmp_path: Path) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    book = tmp_path / "ledger.sqlite"
    rng = random.Random(2019)
    for kill in range(20):
        process = _start(script, TARIFFS, book, tmp_path, kill, 400, 1000)
        time.sleep(rng.uniform(0.0, 0.8))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if book.exists():
            assert ledger.verify(book) == [], f"after kill {kill}"
    assert book.exists()
    items = ledger.list_invoices(book)
    assert items, "no run ever committed: the kills came too early to test anything"
    finished = _start(script, TARIFFS, book, tmp_path, 99, 50, 1)  # and it still issues afterwards
    out, _ = finished.communicate(timeout=120)
    assert json.loads(out)["issued"] == 50
    assert ledger.verify(book) == []


CLIENTS = ["111222333", "123456782", "100000058", "100000009", "100000010", "100000022", "100000034", "100000046"]


def _log(path: Path, rows: int, seed: int) -> Path:
    """Valid rows that all differ (the revenue counts up); at most 24 rows of one client on a day."""
    rng = random.Random(seed)
    lines = ["datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst"]
    lines += [f"{dt.date(2021, 1, 1) + dt.timedelta(days=i % 365)};{CLIENTS[i % 8]};Aanbieder {i % 3};"
              f"{rng.choice(['Gennep', 'Beesel'])};LN034;1;{i // 100},{i % 100:02d}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_two_writers_at_once_never_share_a_number_nor_bill_a_row_twice(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(SHARED_LOG)
    book = tmp_path / "ledger.sqlite"
    whole = _log(tmp_path / "whole.csv", 3000, 1)
    part = tmp_path / "part.csv"  # the first 2000 rows of the same log: overlapping
    part.write_text("".join(whole.read_text().splitlines(keepends=True)[:2001]))
    go = tmp_path / "go"
    writers = [_start(script, TARIFFS, book, log, go) for log in (whole, part)]
    go.touch()
    reports = [json.loads(w.communicate(timeout=300)[0]) for w in writers]
    assert all(w.returncode == 0 for w in writers)
    assert sum(r["issued"] for r in reports) == 3000  # every row once
    assert sum(r["already"] for r in reports) == 2000  # whichever came second skipped the overlap
    numbers = [tuple(n) for r in reports for n in r["numbers"]]
    assert len(numbers) == len(set(numbers))
    assert sorted(numbers) == sorted((i.provider, i.number) for i in ledger.list_invoices(book))
    assert ledger.verify(book) == []


def test_a_busy_ledger_is_a_clear_error(tmp_path: Path, lookup: Lookup) -> None:
    book = tmp_path / "ledger.sqlite"
    result = bill([_log(tmp_path / "a.csv", 10, 2)], lookup, BillOptions(today=TODAY))
    ledger.issue(result, book, issue_date=TODAY, lookup=lookup)
    holder = sqlite3.connect(book, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(LedgerError, match="busy"):
            ledger.issue(bill([_log(tmp_path / "b.csv", 10, 3)], lookup, BillOptions(today=TODAY)), book,
                         issue_date=TODAY, lookup=lookup, timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _foreign_sqlite(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE invoices (number TEXT)")
    connection.execute("INSERT INTO invoices VALUES ('1')")
    connection.commit()
    connection.close()


def _truncated_ledger(path: Path, lookup: Lookup) -> None:
    result = bill([_log(path.parent / "t.csv", 3000, 4)], lookup, BillOptions(today=TODAY))
    ledger.issue(result, path, issue_date=TODAY, lookup=lookup)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


BAD_FILES = {
    "text": lambda p, lk: p.write_text("datum;bsn\n2019-07-01;111222333\n" * 20),
    "random": lambda p, lk: p.write_bytes(random.Random(5).randbytes(8192)),
    "empty": lambda p, lk: p.write_bytes(b""),
    "foreign sqlite": lambda p, lk: _foreign_sqlite(p),
    "truncated ledger": _truncated_ledger,
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_corrupt_or_foreign_file_is_refused_and_left_untouched(tmp_path: Path, lookup: Lookup, kind: str) -> None:
    bad = tmp_path / "ledger.sqlite"
    BAD_FILES[kind](bad, lookup)
    before = bad.read_bytes()
    result = bill([_log(tmp_path / "a.csv", 20, 6)], lookup, BillOptions(today=TODAY))
    with pytest.raises(LedgerError, match=str(bad)):
        ledger.issue(result, bad, issue_date=TODAY, lookup=lookup)
    outcome = CliRunner().invoke(app, ["ledger", "list", "--ledger", str(bad)])
    assert outcome.exit_code == 1, outcome.output
    assert "Traceback" not in outcome.output
    credited = CliRunner().invoke(app, ["credit", "2024-000001", "--ledger", str(bad)])
    assert credited.exit_code == 1
    assert bad.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ledger")) == ["ledger.sqlite"]
