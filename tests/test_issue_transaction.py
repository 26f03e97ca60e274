"""One unit of work per command: `mgr bill --issue` and `mgr credit` change the ledger and write their files
together, or do neither; a kill at any step leaves the old state or the new one (the next run completes it).

Each test starts from an hour-log snippet and a parties file written here (the input formats).
"""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, TARIFFS
from typer.testing import CliRunner

from mgr_tariffs.cli import app
from mgr_tariffs.ledger import store as ledger

LOG = """datum;bsn;aanbieder;gemeente;productcode;uren
2019-07-01;111222333;Zorg BV;Gennep;LN017;1,5
2019-07-02;111222333;Zorg BV;Gennep;LN017;1,5
2019-08-01;123456782;Zorg BV;Beesel;LN018;2
2019-08-01;123456782;Hulp & Co;Beesel;LN018;1
"""

PROVIDER = """
    legal_name: {name}
    address: {{street: Markt 1, postcode: 5911 AB, city: Venlo}}
    kvk: "{kvk}"
    {vat}
    iban: NL32TEST0712345678
    agb: "98100001"
    contact: {{name: Els, email: els@zorg.example, phone: 077 123 45 67}}
"""
MUNICIPALITIES = """
municipalities:
  "0889":
    legal_name: Gemeente Beesel
    address: {street: Raadhuisplein 1, postcode: 5953 AA, city: Reuver}
    oin: "00000001900000889000"
    buyer_reference: MGR-SD-0889
  "0907":
    legal_name: Gemeente Gennep
    address: {street: Ellen Hofplein 1, postcode: 6591 DM, city: Gennep}
    oin: "00000001900000907000"
    buyer_reference: MGR-SD-0907
"""
VAT = "vat_id: NL801234566B01"
NO_VAT = "no_vat_id_reason: kleine ondernemer"


def parties(folder: Path, providers: dict[str, tuple[str, str]], name: str = "parties.yaml") -> Path:
    """A parties file: provider name -> (KvK, the VAT line)."""
    text = "version: 1\nproviders:\n" + "".join(
        f'  "{p}":' + PROVIDER.format(name=p, kvk=kvk, vat=vat) for p, (kvk, vat) in providers.items())
    path = folder / name
    path.write_text(text + MUNICIPALITIES, encoding="utf-8")
    return path


BOTH = {"Zorg BV": ("90412345", VAT), "Hulp & Co": ("90423456", VAT)}


def mgr(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def write_log(folder: Path, text: str = LOG, name: str = "hours.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def issue(folder: Path, *args: object, log: Path | None = None) -> tuple[int, str, str]:
    documents = () if "--out" in args else ("--documents", "none")  # --issue without --out says so explicitly
    return mgr("bill", log or write_log(folder), "--issue", "--ledger", folder / "ledger.sqlite", "--tariffs", TARIFFS,
               "--invoice-date", "2024-09-02", "--today", "2024-09-01", *documents, *args)


def numbers(book: Path) -> list[tuple[str, str]]:
    """(provider, number) of every invoice in the ledger, sorted."""
    return sorted((i.provider, i.number) for i in ledger.list_invoices(book)) if book.exists() else []


ISSUED = [("Hulp & Co", "2024-000001"), ("Zorg BV", "2024-000001"), ("Zorg BV", "2024-000002")]


# --- a failing command changes nothing ------------------------------------------------------------


@pytest.mark.parametrize("case", ["provider missing", "no VAT id for UBL"])
def test_a_parties_problem_issues_nothing_and_a_rerun_issues_everything(tmp_path: Path, case: str) -> None:
    broken = ({"Zorg BV": BOTH["Zorg BV"]} if case == "provider missing"
              else {**BOTH, "Hulp & Co": ("90423456", NO_VAT)})
    code, _, err = issue(tmp_path, "--out", tmp_path / "out", "--documents", "csv,ubl", "--parties",
                         parties(tmp_path, broken))
    assert code == 1 and "nothing was issued" in err, err
    assert ("Hulp & Co" in err) and "Traceback" not in err
    assert numbers(tmp_path / "ledger.sqlite") == [] and not (tmp_path / "out").exists()
    code, out, err = issue(tmp_path, "--out", tmp_path / "out", "--documents", "csv,ubl", "--parties",
                           parties(tmp_path, BOTH), "--json")
    assert code == 0, err
    assert json.loads(out)["summary"]["rows_issued"] == 4
    assert numbers(tmp_path / "ledger.sqlite") == ISSUED
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"factuur-2024-00000{n}-{who}.{ext}" for n, who in ((1, "zorg-bv"), (2, "zorg-bv"), (1, "hulp-co"))
         for ext in ("csv", "xml")] + ["samenvatting.csv"])


def test_an_existing_rejects_file_issues_nothing(tmp_path: Path) -> None:
    log = write_log(tmp_path, LOG + "2019-08-01;123456789;Zorg BV;Beesel;LN018;2\n")  # a BSN that fails the elfproef
    (tmp_path / "afgekeurd.csv").write_text("keep me\n")
    code, _, err = issue(tmp_path, "--skip-invalid", "--rejects", tmp_path / "afgekeurd.csv", log=log)
    assert code == 1 and "already exist" in err, err
    assert numbers(tmp_path / "ledger.sqlite") == []
    assert (tmp_path / "afgekeurd.csv").read_text() == "keep me\n"
    code, _, err = issue(tmp_path, "--skip-invalid", "--rejects", tmp_path / "afgekeurd.csv", "--force", log=log)
    assert code == 0, err
    assert len(numbers(tmp_path / "ledger.sqlite")) == 3
    assert "123456789" in (tmp_path / "afgekeurd.csv").read_text(encoding="utf-8-sig")


def test_a_rejects_file_that_cannot_be_written_issues_nothing_and_writes_no_folder(tmp_path: Path) -> None:
    log = write_log(tmp_path, LOG + "2019-08-01;123456789;Zorg BV;Beesel;LN018;2\n")
    (tmp_path / "a-file").write_text("x")
    for extra in (("--issue", "--ledger", tmp_path / "ledger.sqlite"), ()):
        code, _, err = mgr("bill", log, "--skip-invalid", "--out", tmp_path / "out", "--rejects",
                           tmp_path / "a-file" / "afgekeurd.csv", "--tariffs", TARIFFS, "--today", "2024-09-01",
                           *extra)
        assert code == 1 and "Traceback" not in err, err
        assert not (tmp_path / "out").exists()
        assert numbers(tmp_path / "ledger.sqlite") == []
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("ledger.sqlite")) == [
            "a-file", "hours.csv"]


def test_rejects_naming_the_input_never_replaces_it_even_with_force(tmp_path: Path) -> None:
    log = write_log(tmp_path, LOG + "2019-08-01;123456789;Zorg BV;Beesel;LN018;2\n")
    before = log.read_bytes()
    for extra in ((), ("--issue", "--ledger", tmp_path / "ledger.sqlite", "--documents", "none")):
        code, _, err = mgr("bill", log, "--skip-invalid", "--rejects", log, "--force", "--tariffs", TARIFFS,
                           "--today", "2024-09-01", *extra)
        assert code == 2 and "is the hour log" in err, err
        assert log.read_bytes() == before
    assert not (tmp_path / "ledger.sqlite").exists()


def test_an_existing_document_refuses_the_credit_note_and_records_nothing(tmp_path: Path) -> None:
    assert issue(tmp_path)[0] == 0
    book = tmp_path / "ledger.sqlite"
    out = tmp_path / "credit"
    out.mkdir()
    (out / "creditnota-2024-000003-zorg-bv.pdf").write_bytes(b"%PDF old")
    args = ("credit", "2024-000001", "--provider", "Zorg BV", "--ledger", book, "--date", "2024-09-03", "--out", out,
            "--parties", parties(tmp_path, BOTH), "--tariffs", TARIFFS)
    code, _, err = mgr(*args)
    assert code == 1 and "no credit note was issued" in err, err
    assert len(numbers(book)) == 3 and ledger.verify(book) == []
    assert (out / "creditnota-2024-000003-zorg-bv.pdf").read_bytes() == b"%PDF old"
    (out / "creditnota-2024-000003-zorg-bv.pdf").unlink()
    code, out_text, err = mgr(*args)
    assert code == 0, err
    assert "credit note 2024-000003 of Zorg BV credits 2024-000001" in out_text
    assert sorted(p.name for p in out.iterdir()) == ["creditnota-2024-000003-zorg-bv.pdf",
                                                     "creditnota-2024-000003-zorg-bv.xml"]


def test_documents_without_a_parties_file_and_an_impossible_date_are_clean_errors(tmp_path: Path) -> None:
    assert issue(tmp_path)[0] == 0
    book = tmp_path / "ledger.sqlite"
    missing = tmp_path / "none.yaml"
    for args in (("credit", "2024-000001", "-p", "Zorg BV", "--out", tmp_path / "c", "--parties", missing),
                 ("ledger", "show", "2024-000001", "-p", "Zorg BV", "--out", tmp_path / "c", "--parties", missing)):
        code, _, err = mgr(*args, "--ledger", book, "--tariffs", TARIFFS)
        assert code == 2 and f"{missing}: no such file" in err and "Traceback" not in err, err
    code, _, err = mgr("bill", write_log(tmp_path), "--invoice-date", "9999-12-31", "--tariffs", TARIFFS)
    assert code == 2 and "more than a year from today" in err, err
    code, _, err = mgr("credit", "2024-000001", "-p", "Zorg BV", "--date", "9999-12-31", "--ledger", book)
    assert code == 2 and "more than a year from today" in err, err
    assert len(numbers(book)) == 3


# --- a kill at each step --------------------------------------------------------------------------

KILL = """
import os, signal, sys
import mgr_tariffs.io.atomic as atomic
import mgr_tariffs.ledger.publish as publish
import mgr_tariffs.ledger.store as store
step = sys.argv.pop(1)

def die(*_a, **_k):
    os.kill(os.getpid(), signal.SIGKILL)

if step == "staged":          # files staged, the ledger not yet committed
    real = atomic.stage
    def staged(*a, **k):
        real(*a, **k)
        die()
    atomic.stage = staged
elif step == "committed":     # the ledger committed, nothing published
    publish.publish = die
elif step == "mid-publish":   # one file moved into place, the others not
    real_move = atomic._publish_again
    moved = []
    def move(*a, **k):
        if moved:
            die()
        moved.append(1)
        real_move(*a, **k)
    atomic._publish_again = move
elif step == "published":     # everything in place, its record not yet written
    publish.mark_published = die
from mgr_tariffs.entry import main
main()
"""

STEPS = ["staged", "committed", "mid-publish", "published"]


def killed(step: str, *args: object, cwd: Path) -> int:
    done = subprocess.run([sys.executable, "-c", KILL, step, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    return done.returncode


def verify(book: Path) -> tuple[int, str]:
    code, out, err = mgr("ledger", "verify", "--ledger", book)
    return code, out + err


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_each_step_of_bill_issue_leaves_the_old_or_the_new_state(tmp_path: Path, step: str) -> None:
    log = write_log(tmp_path)
    book = tmp_path / "ledger.sqlite"
    out = tmp_path / "out"
    if step == "mid-publish":
        out.mkdir()  # an empty folder is filled file by file (a new one is renamed into place in one step)
    args = ("bill", log, "--issue", "--ledger", book, "--out", out, "--documents", "csv", "--tariffs", TARIFFS,
            "--invoice-date", "2024-09-02", "--today", "2024-09-01")
    assert killed(step, *args, cwd=tmp_path) == -signal.SIGKILL
    code, said = verify(book)
    if step == "staged":  # the old state: nothing issued, no folder
        assert numbers(book) == [] and not (out.exists() and any(out.iterdir()))
        assert code == 0, said
    elif step in ("committed", "mid-publish"):  # the new state, its files still waiting
        assert len(numbers(book)) == 3
        assert code == 1 and "its files are not published yet" in said, said
    else:
        assert len(numbers(book)) == 3 and sorted(p.name for p in out.iterdir())[-1] == "samenvatting.csv"
        assert code == 1 and "not published yet" in said, said
    # the next run completes what was committed, and issues nothing twice
    code, _, err = mgr("bill", log, "--issue", "--ledger", book, "--tariffs", TARIFFS, "--invoice-date", "2024-09-02",
                       "--today", "2024-09-01", "--out", tmp_path / "again", "--force", "--documents", "csv")
    assert code == 0, err
    assert ("published the files of an interrupted earlier run" in err) == (step in ("committed", "mid-publish"))
    assert verify(book) == (0, f"{book}: ok (chain head {ledger.chain_head(book)})\n")
    assert numbers(book) == ISSUED
    written = tmp_path / "again" if step == "staged" else out  # staged: the rerun issued them, into its folder
    assert sorted(p.name for p in written.iterdir()) == ["factuur-2024-000001-hulp-co.csv",
                                                     "factuur-2024-000001-zorg-bv.csv",
                                                     "factuur-2024-000002-zorg-bv.csv", "samenvatting.csv"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staged leftovers


@pytest.mark.parametrize("step", ["staged", "committed"])
def test_a_kill_during_a_credit_leaves_the_old_or_the_new_state(tmp_path: Path, step: str) -> None:
    assert issue(tmp_path)[0] == 0
    book = tmp_path / "ledger.sqlite"
    out = tmp_path / "credit"
    args = ("credit", "2024-000002", "-p", "Zorg BV", "--ledger", book, "--date", "2024-09-03", "--out", out,
            "--parties", parties(tmp_path, BOTH), "--tariffs", TARIFFS)
    assert killed(step, *args, cwd=tmp_path) == -signal.SIGKILL
    assert (len(numbers(book)) == 4) == (step == "committed")
    code, _, err = mgr(*args)
    if step == "committed":  # issued, its documents waiting: crediting again is refused, the documents published
        assert code == 1 and "already credited by 2024-000003" in err, err
    else:
        assert code == 0, err
    assert verify(book) == (0, f"{book}: ok (chain head {ledger.chain_head(book)})\n")
    assert sorted(p.name for p in out.iterdir()) == ["creditnota-2024-000003-zorg-bv.pdf",
                                                     "creditnota-2024-000003-zorg-bv.xml"]


def test_staged_files_of_a_run_that_died_before_its_commit_are_removed(tmp_path: Path) -> None:
    log = write_log(tmp_path)
    book = tmp_path / "ledger.sqlite"
    args = ("bill", log, "--issue", "--ledger", book, "--out", tmp_path / "out", "--tariffs", TARIFFS,
            "--invoice-date", "2024-09-02", "--today", "2024-09-01")
    assert killed("staged", *args, cwd=tmp_path) == -signal.SIGKILL
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".pending")] != []
    assert mgr(*args)[0] == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- the ledger read-only, damaged, tampered with -------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reading_commands_leave_the_ledger_and_its_folder_as_they_were(tmp_path: Path) -> None:
    assert issue(tmp_path)[0] == 0
    book = tmp_path / "ledger.sqlite"
    with sqlite3.connect(book) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folder = tmp_path / "kept"
    folder.mkdir()
    (folder / "ledger.sqlite").write_bytes(book.read_bytes())
    copy = folder / "ledger.sqlite"
    before = digest(copy)
    for args in (("ledger", "list"), ("ledger", "show", "2024-000001", "-p", "zorg bv"), ("ledger", "export"),
                 ("ledger", "verify")):
        code, _, err = mgr(*args, "--ledger", copy)
        assert code == 0, (args, err)
    assert digest(copy) == before
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm"))) == ["ledger.sqlite"]


def test_reading_commands_work_on_a_read_only_folder(tmp_path: Path) -> None:
    """On a real read-only path (the folder and the file without write permission; root ignores those)."""
    import os  # noqa: PLC0415

    if os.geteuid() == 0:
        pytest.skip("root can write anywhere: permissions make no read-only path")
    assert issue(tmp_path)[0] == 0
    folder = tmp_path / "ro"
    folder.mkdir()
    with sqlite3.connect(tmp_path / "ledger.sqlite") as source, sqlite3.connect(folder / "ledger.sqlite") as target:
        source.backup(target)
    (folder / "ledger.sqlite").chmod(0o444)
    folder.chmod(0o555)
    try:
        for args in (("ledger", "list"), ("ledger", "export"), ("ledger", "verify"),
                     ("ledger", "show", "2024-000001", "-p", "Zorg BV")):
            code, _, err = mgr(*args, "--ledger", folder / "ledger.sqlite")
            assert code == 0, (args, err)
    finally:
        folder.chmod(0o755)


ZORG_1 = "provider = 'Zorg BV' AND number = '2024-000001'"
DAMAGE = {
    "lines not Parquet": ("UPDATE invoice_lines SET lines_parquet = x'00112233445566778899' WHERE run_id = 1",
                          "ledger damaged: the invoice lines of run 1: not Parquet"),
    "VAT not JSON": (f"UPDATE invoice SET vat_json = '{{not json' WHERE {ZORG_1}",
                     "ledger damaged: the VAT breakdown of 2024-000001: not JSON"),
    "date of wrong type": (f"UPDATE invoice SET issue_date = 12345 WHERE {ZORG_1}", "ledger damaged"),
    "amount of wrong type": (f"UPDATE invoice SET total_cents = 'veel' WHERE {ZORG_1}", "ledger damaged"),
    "rows not Parquet": ("UPDATE billed_rows SET rows_parquet = x'50415231' WHERE run_id = 1",
                         "ledger damaged: the billed rows of run 1: not Parquet"),
}


def unguarded_edit(book: Path, statement: str) -> None:
    """What another tool could do: drop the guard triggers and change the file."""
    raw = sqlite3.connect(book, isolation_level=None)
    try:
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            raw.execute(f"DROP TRIGGER {name}")
        raw.execute(statement)
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_ledger_is_a_clean_error_and_stays_untouched(tmp_path: Path, kind: str) -> None:
    assert issue(tmp_path)[0] == 0
    book = tmp_path / "ledger.sqlite"
    statement, expected = DAMAGE[kind]
    unguarded_edit(book, statement)
    before = digest(book)
    commands: list[tuple[str | Path, ...]] = [
        ("ledger", "show", "2024-000001", "-p", "Zorg BV", "--format", "json"), ("ledger", "export"),
                ("ledger", "list"), ("ledger", "verify")]
    if kind == "rows not Parquet":  # issuing reads the billed rows (crediting does not need them)
        commands += [("bill", write_log(tmp_path), "--issue", "--documents", "none", "--tariffs", TARIFFS, "--today",
                      "2024-09-01")]
    else:
        commands += [("credit", "2024-000001", "-p", "Zorg BV")]
    failures = 0
    for args in commands:
        code, out, err = mgr(*args, "--ledger", book)
        assert "Traceback" not in err
        if args == ("ledger", "verify") and code == 1 and "no longer matches what was issued" in out:
            failures += 1  # verify read everything and found the change in the hash chain
        elif code != 0:
            failures += 1
            assert code == 1 and f"{book}: ledger damaged" in err, (args, err)
            assert expected in err or expected == "ledger damaged", (args, err)
    assert failures >= 2
    assert digest(book) == before


TAMPER = {
    "an edited VAT amount": ("UPDATE invoice SET vat_cents = vat_cents + 100 WHERE number = '2024-000002'",
                             "Zorg BV 2024-000002 (chain record 3): no longer matches what was issued"),
    "a renumbered invoice": ("UPDATE invoice SET number = '2024-000009', seq = 9 WHERE number = '2024-000002'",
                             "Zorg BV 2024-000009 (chain record 3): no longer matches what was issued"),
    "an edited line": ("UPDATE invoice_lines SET lines_parquet = (SELECT lines_parquet FROM invoice_lines "
                       "WHERE run_id = 2) WHERE run_id = 1", "no longer matches what was issued"),
    "a deleted last run": ("DELETE FROM chain WHERE invoice_id IN (SELECT id FROM invoice WHERE run_id = 2); "
                           "DELETE FROM billed_rows WHERE run_id = 2; DELETE FROM invoice_lines WHERE run_id = 2; "
                           "DELETE FROM invoice WHERE run_id = 2; DELETE FROM run WHERE id = 2",
                           "chain records 4 are missing: 1 issued invoice(s) or credit note(s) were deleted"),
    "a deleted first run": ("DELETE FROM chain WHERE invoice_id IN (SELECT id FROM invoice WHERE run_id = 1); "
                            "DELETE FROM billed_rows WHERE run_id = 1; DELETE FROM invoice_lines WHERE run_id = 1; "
                            "DELETE FROM invoice WHERE run_id = 1; DELETE FROM run WHERE id = 1",
                            "chain records 1, 2, 3 are missing"),
}


@pytest.mark.parametrize("kind", list(TAMPER))
def test_verify_finds_what_was_changed_behind_mgrs_back(tmp_path: Path, kind: str) -> None:
    assert issue(tmp_path)[0] == 0
    later = LOG.splitlines()[0] + "\n2019-09-02;111222333;Zorg BV;Gennep;LN017;1\n"
    assert issue(tmp_path, log=write_log(tmp_path, later, "september.csv"))[0] == 0
    book = tmp_path / "ledger.sqlite"
    assert verify(book) == (0, f"{book}: ok (chain head {ledger.chain_head(book)})\n")
    statements, expected = TAMPER[kind]
    for statement in statements.split("; "):
        unguarded_edit(book, statement)
    code, said = verify(book)
    assert code == 1 and expected in said, said


# --- numbers per supplier identity ----------------------------------------------------------------


def test_spellings_of_one_supplier_share_its_numbers_and_its_billed_rows(tmp_path: Path) -> None:
    assert issue(tmp_path)[0] == 0
    renamed = LOG.replace("Zorg BV", "ZORG  bv") + "2019-09-02;111222333;ZORG  bv;Gennep;LN017;1\n"
    code, out, err = issue(tmp_path, "--json", log=write_log(tmp_path, renamed, "renamed.csv"))
    assert code == 0, err
    result = json.loads(out)
    assert result["summary"]["rows_issued"] == 1 and result["summary"]["rows_already_billed"] == 4
    assert [(i["provider"], i["number"]) for i in result["invoices"]] == [("Zorg BV", "2024-000003")]
    assert verify(tmp_path / "ledger.sqlite")[0] == 0


def test_two_names_with_one_kvk_number_are_one_supplier(tmp_path: Path) -> None:
    same = {"Zorg BV": ("90412345", VAT), "Hulp & Co": ("90412345", VAT)}
    code, out, err = issue(tmp_path, "--out", tmp_path / "out", "--documents", "csv,ubl", "--parties",
                           parties(tmp_path, same), "--json")
    assert code == 0, err
    # the first spelling of the run (invoices come sorted by provider) is the supplier's; Beesel 2019-08 is one invoice
    assert numbers(tmp_path / "ledger.sqlite") == [("Hulp & Co", "2024-000001"), ("Hulp & Co", "2024-000002")]
    assert json.loads(out)["summary"]["rows_issued"] == 4
    assert verify(tmp_path / "ledger.sqlite")[0] == 0


def test_the_example_issues_and_verifies(tmp_path: Path) -> None:
    code, _, err = mgr("bill", ROOT / "data" / "examples" / "hours.csv", "--issue", "--ledger", tmp_path / "l.sqlite",
                       "--tariffs", TARIFFS, "--invoice-date", "2024-09-02", "--documents", "none")
    assert code == 0, err
    book = tmp_path / "l.sqlite"
    assert verify(book) == (0, f"{book}: ok (chain head {ledger.chain_head(book)})\n")


def test_a_noted_chain_head_proves_that_nothing_was_removed_since(tmp_path: Path) -> None:
    """Deleting the newest records and SQLite's memory of them leaves a consistent chain: the head noted
    after the run (printed by verify) is what shows it."""
    assert issue(tmp_path)[0] == 0
    book = tmp_path / "ledger.sqlite"
    noted = ledger.chain_head(book)
    later = LOG.splitlines()[0] + "\n2019-09-02;111222333;Zorg BV;Gennep;LN017;1\n"
    assert issue(tmp_path, log=write_log(tmp_path, later, "september.csv"))[0] == 0
    assert verify(book)[0] == 0
    assert mgr("ledger", "verify", "--ledger", book, "--head", noted)[0] == 0
    newest = ledger.chain_head(book)
    for statement in [*TAMPER["a deleted last run"][0].split("; "), "UPDATE sqlite_sequence SET seq = 3"]:
        unguarded_edit(book, statement)
    assert verify(book)[0] == 0  # consistent in itself: only the noted head can tell
    code, out, _ = mgr("ledger", "verify", "--ledger", book, "--head", newest)
    assert code == 1 and f"chain head {newest} is not in this ledger" in out, out
    assert mgr("ledger", "verify", "--ledger", book, "--head", noted)[0] == 0
