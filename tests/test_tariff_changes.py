"""Tariff changes end to end: ``mgr tariffs index`` editing the YAML, ``mgr tariffs diff``, ``mgr validate --against``
and the what-if ``mgr bill --compare-tariffs`` (issue 16)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from mgr_tariffs.billing.engine import bill
from mgr_tariffs.billing.whatif import compare_tariffs
from mgr_tariffs.catalogue.diff import ChangeKind, diff_catalogues, snapshot
from mgr_tariffs.catalogue.edit import index_text
from mgr_tariffs.catalogue.indexation import Index, IndexRequest, indexed_amount
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue, parse_catalogue
from mgr_tariffs.catalogue.models import Rounding
from mgr_tariffs.cli import app

ROOT = Path(__file__).resolve().parent.parent
TARIFFS = ROOT / "data" / "tariffs.yaml"
HOURS = ROOT / "data" / "examples" / "hours.csv"
WITHOUT_STEP = ROOT / "tests" / "data" / "tariff_changes" / "without-2019-step.yaml"
TODAY = "2026-12-02"


def mgr(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "tariffs.yaml"
    shutil.copyfile(TARIFFS, target)
    return target


def index(path: Path, *args: str) -> Result:
    return mgr("tariffs", "index", "--tariffs", path, "--today", TODAY, *args)


def only_insertions(old: str, new: str) -> list[str]:
    """The lines ``new`` adds to ``old``; fails when any line of ``old`` was changed or removed."""
    matcher = difflib.SequenceMatcher(a=old.splitlines(keepends=True), b=new.splitlines(keepends=True),
                                      autojunk=False)
    changed = [op for op in matcher.get_opcodes() if op[0] not in ("equal", "insert")]
    assert changed == [], changed
    return [line for op in matcher.get_opcodes() if op[0] == "insert"
            for line in new.splitlines(keepends=True)[op[3]:op[4]]]


# --- mgr tariffs index --------------------------------------------------------------------------------

def test_indexing_the_whole_catalogue_keeps_every_comment_and_anchor(copy: Path) -> None:
    old = copy.read_text(encoding="utf-8")
    result = index(copy, "--from", "2027-01-01", "--ova", "4,18", "--ppc", "1,82", "--weights", "90/10",
                   "--note", "VNG-advies 2027")
    assert result.exit_code == 0, result.output
    new = copy.read_text(encoding="utf-8")
    added = only_insertions(old, new)  # the untouched parts are byte for byte the same
    assert added.count("        until: 2026-12-31\n") == 6  # 9 products; 3 pairs share a price list
    assert added.count("      - from: 2027-01-01\n") == 6
    assert not any("#" in line or "&" in line or "*" in line for line in added)
    comments = [line for line in old.splitlines() if line.lstrip().startswith("#")]
    assert comments == [line for line in new.splitlines() if line.lstrip().startswith("#")]
    assert re.findall(r"[&*]\w+", old) == re.findall(r"[&*]\w+", new)
    assert mgr("validate", copy).exit_code == 0
    assert mgr("validate", "--strict", "--against", TARIFFS, "--today", TODAY, copy).exit_code == 0
    prices = {c: mgr("price", c, "--on", "2027-01-01", "--tariffs", copy, "--format", "json") for c in
              ("LN017", "LN035", "LN034")}
    # 48,60 / 50,40 / 12,00 x 1,03944 = 50,516784 / 52,387776 / 12,47328
    assert {c: json.loads(r.stdout)["price"] for c, r in prices.items()} == {
        "LN017": "50.52", "LN035": "52.39", "LN034": "12.47"}


def test_index_one_category_prints_the_changes_and_the_diff(copy: Path) -> None:
    old = copy.read_text(encoding="utf-8")
    result = index(copy, "--from", "2027-01-01", "--percent", "3.42", "--category", "LN2", "--rounding", "up")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("LN017 from 2027-01-01: € 48,60 -> € 50,27 (3,42 %, rounded up); the period from "
                        "2019-07-01 now ends on 2026-12-31")  # 48,60 x 1,0342 = 50,26212 -> up 50,27
    assert lines[1].startswith("LN018 from 2027-01-01: € 72,00 -> € 74,47 ")  # 74,4624 -> up 74,47
    assert "+        amount: 50.27" in lines and "+          rounding: up" in lines
    assert lines[-1] == f"written: {copy} (2 price(s) indexed)"
    added = only_insertions(old, copy.read_text(encoding="utf-8"))
    assert "".join(added) == (
        "        until: 2026-12-31\n      - from: 2027-01-01\n        amount: 50.27\n        indexation:\n"
        "          base: 48.60\n          percent: 3.42\n          rounding: up\n          precision: 2\n"
        "        until: 2026-12-31\n      - from: 2027-01-01\n        amount: 74.47\n        indexation:\n"
        "          base: 72.00\n          percent: 3.42\n          rounding: up\n          precision: 2\n")
    text = copy.read_text(encoding="utf-8")  # the heading of the next section still follows LN018's prices
    assert "          precision: 2\n\n  # --- Maatwerkdiensten Participatie, perceel 2" in text
    assert mgr("price", "LN031", "--on", "2027-01-01", "--tariffs", copy).stdout.count("€ 50,40") == 1


def test_windows_line_ends_and_a_byte_order_mark_are_kept(copy: Path) -> None:
    old = codecs.BOM_UTF8 + TARIFFS.read_bytes().replace(b"\n", b"\r\n")
    copy.write_bytes(old)
    assert index(copy, "--from", "2027-01-01", "--percent", "3.42", "--category", "LN2").exit_code == 0
    new = copy.read_bytes()
    assert new.startswith(codecs.BOM_UTF8) and b"\n" not in new.replace(b"\r\n", b"")
    added = only_insertions(old.decode("utf-8"), new.decode("utf-8"))
    assert added[0] == "        until: 2026-12-31\r\n" and len(added) == 16


COMPACT = """\
# Lists written flush with their key.
version: 1
sources:
  S1: {title: Test source, file: test.txt, date: juni 2019}
categories:
- code: LN2
  name: Test category
municipalities:
- code: "0983"
  name: Venlo
  memberships:
  - from: 2015-01-01
products:
- code: LN017
  name: Test product
  category: LN2
  domain: Wmo
  perceel: Test
  unit: uur
  vat: {treatment: vrijgesteld}
  source: S1
  prices:
  - from: 2018-01-01
    amount: 47.04   # the first tariff
# the end
"""


def test_a_file_with_another_list_indentation_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "tariffs.yaml"
    path.write_text(COMPACT, encoding="utf-8")
    assert mgr("validate", path).exit_code == 0
    assert index(path, "--from", "2027-01-01", "--percent", "3.42").exit_code == 0
    added = only_insertions(COMPACT, path.read_text(encoding="utf-8"))
    assert added == ["    until: 2026-12-31\n", "  - from: 2027-01-01\n", "    amount: 48.65\n", "    indexation:\n",
                     "      base: 47.04\n", "      percent: 3.42\n", "      rounding: half-up\n",
                     "      precision: 2\n"]
    assert path.read_text(encoding="utf-8").endswith("      precision: 2\n# the end\n")


def test_a_period_shared_through_an_anchor_is_split(tmp_path: Path) -> None:
    text = COMPACT.replace("  - from: 2018-01-01\n    amount: 47.04   # the first tariff\n",
                           "  - &first\n    from: 2018-01-01\n    amount: 47.04\n")
    text += text[text.index("- code: LN017"):].replace("LN017", "LN018").replace("  - &first\n    from: 2018-01-01\n"
                                                                                 "    amount: 47.04\n", "  - *first\n")
    path = tmp_path / "tariffs.yaml"
    path.write_text(text, encoding="utf-8")
    assert mgr("validate", path).exit_code == 0
    assert index(path, "--from", "2027-01-01", "--percent", "3.42", "--products", "LN018").exit_code == 0
    after = lookup_of(path)
    assert [(str(p.start), str(p.until), str(p.amount)) for p in after.products["LN017"].prices] == [
        ("2018-01-01", "None", "47.04")]
    assert [(str(p.start), str(p.until), str(p.amount)) for p in after.products["LN018"].prices] == [
        ("2018-01-01", "2026-12-31", "47.04"), ("2027-01-01", "None", "48.65")]


def test_dry_run_prints_and_writes_nothing(copy: Path) -> None:
    old = copy.read_bytes()
    result = index(copy, "--from", "2027-01-01", "--percent", "3.42", "--products", "LN017", "--dry-run")
    assert result.exit_code == 0
    assert "+        amount: 50.26" in result.stdout and result.stdout.endswith(f"dry run: {copy} not changed\n")
    assert copy.read_bytes() == old


def test_a_second_run_for_the_same_date_is_refused(copy: Path) -> None:
    assert index(copy, "--from", "2027-01-01", "--percent", "3.42", "--category", "LN2").exit_code == 0
    once = copy.read_bytes()
    again = index(copy, "--from", "2027-01-01", "--percent", "3.42", "--category", "LN2")
    assert again.exit_code == 1
    assert ("LN017 already has a price from 2027-01-01 (€ 50,26): it was indexed from that date before; correct it "
            "with --replace") in again.stderr
    assert copy.read_bytes() == once


def test_replace_corrects_a_provisional_figure_and_says_what_it_changes(copy: Path) -> None:
    assert index(copy, "--from", "2027-01-01", "--percent", "3.42", "--category", "LN2",
                 "--note", "voorlopig").exit_code == 0
    provisional = copy.read_text(encoding="utf-8")
    result = index(copy, "--from", "2027-01-01", "--ova", "4.18", "--ppc", "1.82", "--category", "LN2", "--replace",
                   "--note", "definitief")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "LN017 from 2027-01-01: corrects € 50,26 to € 50,52 (base € 48,60, 3,944 % (90 % OVA 4,18 % + 10 % PPC "
        "1,82 %), rounded half-up; was 3,42 %)")
    assert "-        amount: 50.26\n+        amount: 50.52\n" in result.stdout
    text = copy.read_text(encoding="utf-8")
    assert "          replaces: 3.42\n          note: definitief\n\n  # --- Maatwerkdiensten" in text
    assert text.count("until: 2026-12-31") == 2  # the closed periods stay as they were
    changes = diff_catalogues(snapshot(provisional, "a"), snapshot(text, "b"))
    assert [(c.kind, c.code, str(c.old_amount), str(c.new_amount)) for c in changes] == [
        (ChangeKind.PERIOD_CHANGED, "LN017", "50.26", "50.52"), (ChangeKind.PERIOD_CHANGED, "LN018", "74.46", "74.84")]


def test_replace_refuses_a_period_that_has_started(copy: Path) -> None:
    assert index(copy, "--from", "2027-01-01", "--percent", "3.42", "--products", "LN017").exit_code == 0
    result = mgr("tariffs", "index", "--tariffs", copy, "--today", "2027-01-01", "--from", "2027-01-01",
                 "--percent", "3.5", "--products", "LN017", "--replace")
    assert result.exit_code == 1
    assert "the price from 2027-01-01 has started (today is 2027-01-01)" in result.stderr


def test_indexing_one_of_two_products_that_share_a_price_list(copy: Path) -> None:
    result = index(copy, "--from", "2027-01-01", "--percent", "3.42", "--products", "LN035")
    assert result.exit_code == 0, result.output
    assert mgr("validate", "--strict", copy).exit_code == 0
    on = {code: json.loads(mgr("price", code, "--on", "2027-01-01", "--tariffs", copy, "--format", "json").stdout)
          for code in ("LN031", "LN035")}
    assert (on["LN031"]["price"], on["LN031"]["until"]) == ("50.40", None)
    assert (on["LN035"]["price"], on["LN035"]["from"]) == ("52.12", "2027-01-01")  # 50,40 x 1,0342 = 52,12368
    assert "assumption: *participation_start" in copy.read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--from", "2027-01-01"], 2, "give the index"),
    (["--from", "2027-01-01", "--percent", "3,4x"], 2, "--percent '3,4x' is not a number"),
    (["--from", "2027-01-01", "--percent", "3", "--ova", "4"], 2, "not both"),
    (["--from", "2027-01-01", "--ova", "4.18", "--ppc", "1.82", "--weights", "80/30"], 2, "add up to 110"),
    (["--from", "2027/01/01", "--percent", "3"], 2, "--from '2027/01/01' is not a date"),
    (["--from", "2027-01-01", "--percent", "3", "--precision", "4"], 2, "--precision"),
    (["--from", "2027-01-01", "--percent", "3", "--rounding", "bankers"], 2, "--rounding"),
    (["--from", "2026-12-01", "--percent", "3"], 1, "is not after today (2026-12-02)"),
    (["--from", "2027-01-01", "--percent", "3", "--products", "LN099"], 1, "unknown product code 'LN099'"),
])
def test_bad_index_options(copy: Path, args: list[str], code: int, message: str) -> None:
    old = copy.read_bytes()
    result = index(copy, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert copy.read_bytes() == old


def test_index_an_invalid_or_missing_catalogue(tmp_path: Path) -> None:
    broken = ROOT / "tests" / "data" / "catalogue" / "broken.yaml"
    target = tmp_path / "broken.yaml"
    shutil.copyfile(broken, target)
    result = index(target, "--from", "2027-01-01", "--percent", "3")
    assert result.exit_code == 1
    assert "LN018: price 72.005 has more than two decimals" in result.stderr
    assert target.read_bytes() == broken.read_bytes()
    missing = index(tmp_path / "none.yaml", "--from", "2027-01-01", "--percent", "3")
    assert missing.exit_code == 2 and "none.yaml: no such file" in missing.stderr


# --- mgr tariffs diff ------------------------------------------------------------------------------------

def without_2019_step(text: str) -> str:
    for old_price, new_price in (("47.04", "48.60"), ("69.64", "72.00")):
        closed = f"        until: 2019-06-30\n        amount: {old_price}\n"
        text = text.replace(closed, f"        amount: {old_price}\n")
        text = text.replace(f"      - from: 2019-07-01\n        amount: {new_price}\n", "")
    return text


def test_the_diff_against_a_copy_without_the_2019_step_shows_exactly_that_step() -> None:
    shipped = TARIFFS.read_text(encoding="utf-8")
    assert WITHOUT_STEP.read_text(encoding="utf-8").replace(
        "# (A copy of data/tariffs.yaml without the 1 July 2019 step of LN017 and LN018, for `mgr tariffs diff`.)\n",
        "") == without_2019_step(shipped)
    changes = diff_catalogues(snapshot(without_2019_step(shipped), "old"), snapshot(shipped, "new"))
    assert [c.as_json() for c in changes] == [
        {"kind": "period closed", "code": "LN017", "from": "2018-01-01", "old_until": None, "new_until": "2019-06-30",
         "old_amount": "47.04", "new_amount": "47.04", "percent": None, "old_line": 118, "new_line": 118},
        {"kind": "period added", "code": "LN017", "from": "2019-07-01", "old_until": None, "new_until": None,
         "old_amount": "47.04", "new_amount": "48.60", "percent": "3.316", "old_line": None, "new_line": 124},
        {"kind": "period closed", "code": "LN018", "from": "2018-01-01", "old_until": None, "new_until": "2019-06-30",
         "old_amount": "69.64", "new_amount": "69.64", "percent": None, "old_line": 136, "new_line": 139},
        {"kind": "period added", "code": "LN018", "from": "2019-07-01", "old_until": None, "new_until": None,
         "old_amount": "69.64", "new_amount": "72.00", "percent": "3.389", "old_line": None, "new_line": 145},
    ]  # (48,60 - 47,04) / 47,04 = 3,3163 %; (72,00 - 69,64) / 69,64 = 3,3889 %


def test_diff_in_text_json_and_csv() -> None:
    text = mgr("tariffs", "diff", WITHOUT_STEP, TARIFFS)
    assert text.exit_code == 0
    assert text.stdout.splitlines() == [
        "LN017: period closed from 2018-01-01, until 2019-06-30 (was open): € 47,04",
        "LN017: period added from 2019-07-01, open: € 47,04 -> € 48,60 (+3,316 %)",
        "LN018: period closed from 2018-01-01, until 2019-06-30 (was open): € 69,64",
        "LN018: period added from 2019-07-01, open: € 69,64 -> € 72,00 (+3,389 %)",
        f"{WITHOUT_STEP} -> {TARIFFS}: period closed: 2, period added: 2"]
    data = json.loads(mgr("tariffs", "diff", WITHOUT_STEP, TARIFFS, "--format", "json").stdout)
    assert data["summary"] == {"period closed": 2, "period added": 2} and len(data["changes"]) == 4
    rows = list(csv.DictReader(io.StringIO(mgr("tariffs", "diff", WITHOUT_STEP, TARIFFS, "--format", "csv").stdout)))
    assert [(r["kind"], r["code"], r["new_amount"], r["percent"]) for r in rows] == [
        ("period closed", "LN017", "47.04", ""), ("period added", "LN017", "48.60", "3.316"),
        ("period closed", "LN018", "69.64", ""), ("period added", "LN018", "72.00", "3.389")]
    same = mgr("tariffs", "diff", TARIFFS, TARIFFS)
    assert same.exit_code == 0 and same.stdout.endswith(": no changes\n")


def test_diff_of_products_added_removed_and_periods_removed(tmp_path: Path) -> None:
    shipped = TARIFFS.read_text(encoding="utf-8")
    fewer = shipped.replace("      - from: 2019-07-01\n        amount: 72.00\n", "").replace(
        "        until: 2019-06-30\n        amount: 69.64\n", "        amount: 69.64\n")
    start = fewer.index("  - code: LN037")
    fewer = fewer[:start] + fewer[start:].replace("LN037", "LN038")
    changes = diff_catalogues(snapshot(shipped, "old"), snapshot(fewer, "new"))
    assert [(c.kind, c.code, str(c.start)) for c in changes] == [
        (ChangeKind.PERIOD_CHANGED, "LN018", "2018-01-01"), (ChangeKind.PERIOD_REMOVED, "LN018", "2019-07-01"),
        (ChangeKind.PRODUCT_ADDED, "LN038", "None"), (ChangeKind.PRODUCT_REMOVED, "LN037", "None")]
    assert changes[0].describe() == "LN018: period changed from 2018-01-01, open (was until 2019-06-30): € 69,64"
    assert changes[1].describe() == "LN018: period removed from 2019-07-01, open: € 72,00"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture()
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / "data").mkdir()
    shutil.copyfile(TARIFFS, tmp_path / "data" / "tariffs.yaml")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "catalogue")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_diff_and_against_a_committed_version(repository: Path) -> None:
    path = repository / "data" / "tariffs.yaml"
    path.write_text(without_2019_step(path.read_text(encoding="utf-8")), encoding="utf-8")
    result = mgr("tariffs", "diff", "data/tariffs.yaml", "git:HEAD:data/tariffs.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "data/tariffs.yaml -> git:HEAD:data/tariffs.yaml: period closed: 2, " \
                                             "period added: 2"
    guard = mgr("validate", "--against", "git:HEAD", "--today", TODAY, "data/tariffs.yaml")
    assert guard.exit_code == 1
    assert guard.stdout.splitlines()[:2] == [
        "data/tariffs.yaml:117: error: LN017: the price from 2019-07-01 (€ 48,60, git:HEAD:data/tariffs.yaml:124) was "
        "removed or its start moved; it has applied since 2019-07-01, so invoices may carry it",
        "data/tariffs.yaml:118: error: LN017: the price from 2018-01-01 now runs until further notice (before: "
        "until 2019-06-30): days before today (2026-12-02) would be priced differently"]
    unknown = mgr("tariffs", "diff", "git:nosuchrev:data/tariffs.yaml", "data/tariffs.yaml")
    assert unknown.exit_code == 2 and "git:nosuchrev:data/tariffs.yaml" in unknown.stderr
    bad = mgr("tariffs", "diff", "git:HEAD", "data/tariffs.yaml")
    assert bad.exit_code == 2 and "write a committed file as git:REV:path" in bad.stderr
    for option in ("--output=pwned", "-p"):
        injected = mgr("tariffs", "diff", f"git:{option}:data/tariffs.yaml", "data/tariffs.yaml")
        assert injected.exit_code == 2 and "is not a git revision" in injected.stderr
        assert mgr("validate", "--against", f"git:{option}", "data/tariffs.yaml").exit_code == 2
    assert not (repository / "pwned").exists() and not list(repository.glob("pwned*"))


def test_against_git_head_passes_a_new_file_and_an_indexation(repository: Path) -> None:
    new = repository / "data" / "tariffs-2027.yaml"
    shutil.copyfile(TARIFFS, new)
    assert mgr("validate", "--against", "git:HEAD", "data/tariffs-2027.yaml").exit_code == 0
    assert index(repository / "data" / "tariffs.yaml", "--from", "2027-01-01", "--percent", "3.42").exit_code == 0
    result = mgr("validate", "--against", "git:HEAD", "--today", TODAY, "data/tariffs.yaml")
    assert result.exit_code == 0, result.output


# --- mgr validate --against ------------------------------------------------------------------------------

@pytest.mark.parametrize(("edit", "line", "message"), [
    (("        amount: 47.04\n", "        amount: 47.10\n"), 120,
     "LN017: the price from 2018-01-01 changed from € 47,04 to € 47,10; it has applied since 2018-01-01"),
    (("        until: 2019-06-30\n        amount: 47.04\n", "        until: 2019-06-29\n        amount: 47.04\n"), 119,
     "LN017: the price from 2018-01-01 now runs until 2019-06-29 (before: until 2019-06-30)"),
    (("      - from: 2019-07-01\n        amount: 48.60\n", "      - from: 2019-07-01\n        until: 2020-01-31\n"
      "        amount: 48.60\n      - from: 2020-02-01\n        amount: 49.00\n"), 125,
     "LN017: the price from 2019-07-01 now runs until 2020-01-31 (before: until further notice)"),
    (("      - from: 2019-07-01\n        amount: 48.60\n", "      - from: 2019-08-01\n        amount: 48.60\n"), 117,
     "LN017: the price from 2019-07-01 (€ 48,60, OLD:124) was removed or its start moved"),
])
def test_against_refuses_rewritten_history(tmp_path: Path, edit: tuple[str, str], line: int, message: str) -> None:
    changed = tmp_path / "tariffs.yaml"
    text = TARIFFS.read_text(encoding="utf-8")
    assert edit[0] in text
    changed.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    result = mgr("validate", "--against", TARIFFS, "--today", TODAY, changed)
    assert result.exit_code == 1, result.output
    shown = result.stdout.replace(str(TARIFFS), "OLD")
    assert f"{changed}:{line}: error: {message}" in shown, shown


def test_against_refuses_a_removed_product_and_passes_a_future_change(tmp_path: Path) -> None:
    text = TARIFFS.read_text(encoding="utf-8")
    start, end = text.index("  - code: LN037"), len(text)
    removed = tmp_path / "removed.yaml"
    removed.write_text(text[:start] + text[end:], encoding="utf-8")
    result = mgr("validate", "--against", TARIFFS, "--today", TODAY, removed)
    assert result.exit_code == 1
    assert f"{removed}:86: error: LN037 was removed ({TARIFFS}:" in result.stdout
    # a period that has not started yet may still change: the guard protects only what may be invoiced
    assert mgr("validate", "--against", removed, "--today", "2020-06-01", TARIFFS).exit_code == 0
    assert mgr("validate", "--against", TARIFFS, "--today", "2020-12-31", removed).exit_code == 0


def test_against_an_unreadable_or_invalid_old_catalogue(tmp_path: Path) -> None:
    missing = mgr("validate", "--against", tmp_path / "none.yaml", TARIFFS)
    assert missing.exit_code == 2 and "none.yaml: error: no such file" in missing.stdout
    broken = ROOT / "tests" / "data" / "catalogue" / "broken.yaml"
    invalid = mgr("validate", "--against", broken, TARIFFS)
    assert invalid.exit_code == 1 and f"{broken}: error: the catalogue to compare with is invalid" in invalid.stdout


# --- the what-if ----------------------------------------------------------------------------------------

@pytest.fixture()
def indexed_2021(copy: Path) -> Path:
    """The catalogue indexed by 3,944 % from 2021-03-01, as if it were decided in February 2021."""
    result = mgr("tariffs", "index", "--tariffs", copy, "--today", "2021-02-15", "--from", "2021-03-01",
                 "--ova", "4.18", "--ppc", "1.82")
    assert result.exit_code == 0, result.output
    return copy


def lookup_of(path: Path) -> Lookup:
    loaded = load_catalogue(path)
    assert loaded.catalogue is not None
    return Lookup(loaded.catalogue)


def test_what_if_reconciles_to_the_cent_per_municipality(indexed_2021: Path) -> None:
    old, new = lookup_of(TARIFFS), lookup_of(indexed_2021)
    result = compare_tariffs([HOURS], old, new)
    assert not result.errors
    separately = bill([HOURS], old).summary, bill([HOURS], new).summary
    by_municipality = result.totals_by("municipality")
    assert set(by_municipality) == set(separately[0].by_municipality)
    for name, totals in by_municipality.items():
        old_total, new_total = separately[0].by_municipality[name], separately[1].by_municipality[name]
        assert Decimal(totals.old_cents) / 100 == old_total and Decimal(totals.new_cents) / 100 == new_total
        assert old_total + Decimal(totals.difference_cents) / 100 == new_total
    assert Decimal(result.total.old_cents) / 100 == separately[0].total == Decimal("17847.21")
    assert result.total.difference_cents > 0
    changed = {row.product for row in result.rows if row.difference_cents}
    assert changed == {"LN031", "LN032", "LN033", "LN034", "LN035", "LN036", "LN037"}  # LN017/18: 2019 only
    assert all(row.period >= "2021-03" for row in result.rows if row.difference_cents)
    assert any(row.period == "2021-02" and row.old_cents for row in result.rows)


def test_what_if_on_the_command_line(indexed_2021: Path) -> None:
    result = mgr("bill", HOURS, "--compare-tariffs", indexed_2021, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for totals in data["by_municipality"].values():
        assert Decimal(totals["old"]) + Decimal(totals["difference"]) == Decimal(totals["new"])
    assert data["total"]["old"] == "17847.21"
    rows = list(csv.DictReader(io.StringIO(mgr("bill", HOURS, "--compare-tariffs", indexed_2021,
                                               "--format", "csv").stdout)))
    assert list(rows[0]) == ["municipality", "provider", "product", "period", "old", "new", "difference", "percent"]
    assert sum(Decimal(r["difference"]) for r in rows) == Decimal(data["total"]["difference"])
    text = mgr("bill", HOURS, "--compare-tariffs", indexed_2021)
    assert text.exit_code == 0
    assert "per gemeente" in text.stdout and "rows priced on their service date" in text.stdout
    assert "per maand" in text.stdout and "│ 2021-03 " in text.stdout
    assert sum(Decimal(v["difference"]) for v in data["by_period"].values()) == Decimal(data["total"]["difference"])


def test_what_if_as_of_a_date_prices_every_row_at_that_dates_tariffs(copy: Path) -> None:
    assert index(copy, "--from", "2027-01-01", "--percent", "10", "--products", "LN017").exit_code == 0
    result = mgr("bill", HOURS, "--compare-tariffs", copy, "--as-of", "2027-01-01", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["by_product"]) == {"LN017", "LN018", "LN031", "LN032", "LN033", "LN034", "LN035", "LN036",
                                       "LN037"}
    assert {k for k, v in data["by_product"].items() if v["difference"] != "0.00"} == {"LN017"}
    ln017 = data["by_product"]["LN017"]
    # every LN017 hour at € 48,60 now and € 53,46 (48,60 x 1,10) then: the difference is about 10 %
    assert Decimal("9.9") < Decimal(ln017["percent"]) < Decimal("10.1")


@pytest.mark.parametrize(("args", "message"), [
    (["--as-of", "2027-01-01"], "--as-of needs --compare-tariffs"),
    (["--compare-tariffs", "data/tariffs.yaml", "--out", "x"], "--compare-tariffs writes nothing"),
    (["--compare-tariffs", "data/tariffs.yaml", "--format", "html"], "choose from text, json, csv"),
])
def test_what_if_usage_errors(args: list[str], message: str) -> None:
    result = mgr("bill", HOURS, "--tariffs", TARIFFS, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_what_if_with_a_catalogue_that_rejects_rows(tmp_path: Path) -> None:
    late = tmp_path / "late.yaml"
    late.write_text(TARIFFS.read_text(encoding="utf-8").replace("      - from: 2018-01-01\n",
                                                                "      - from: 2019-06-01\n"), encoding="utf-8")
    result = mgr("bill", HOURS, "--tariffs", TARIFFS, "--compare-tariffs", late)
    assert result.exit_code == 1
    assert "under the new tariffs: " in result.stderr and "--skip-invalid" in result.stderr
    skipped = mgr("bill", HOURS, "--tariffs", TARIFFS, "--compare-tariffs", late, "--skip-invalid", "--format", "json")
    assert skipped.exit_code == 0
    data = json.loads(skipped.stdout)
    assert data["rows_billed"]["old"] > data["rows_billed"]["new"] and data["errors"]


# --- any selection: the products asked for change, the others keep every price --------------------------

CODES = ("LN017", "LN018", "LN031", "LN032", "LN033", "LN034", "LN035", "LN036", "LN037")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.sets(st.sampled_from(CODES), min_size=1), percent=st.integers(-500, 1500),
       rounding=st.sampled_from(list(Rounding)), precision=st.sampled_from([2, 3]))
def test_any_selection_changes_exactly_the_products_asked_for(chosen: set[str], percent: int, rounding: Rounding,
                                                              precision: int) -> None:
    text = TARIFFS.read_text(encoding="utf-8")
    request = IndexRequest(dt.date(2027, 1, 1), Index(Decimal(percent) / 100), dt.date(2026, 12, 2), rounding,
                           precision, products=tuple(sorted(chosen)))
    outcome = index_text(text, "tariffs.yaml", request)
    assert outcome.ok and outcome.problems == [], outcome.problems
    before, after = lookup_of_text(text), lookup_of_text(outcome.text)
    for code in CODES:
        for day in (dt.date(2019, 6, 30), dt.date(2021, 1, 1), dt.date(2026, 12, 31)):
            assert price_at(before, code, day) == price_at(after, code, day)
        old = price_at(before, code, dt.date(2027, 1, 1))
        new = price_at(after, code, dt.date(2027, 1, 1))
        assert old is not None
        expected = indexed_amount(old, Decimal(percent) / 100, rounding, precision) if code in chosen else old
        assert new == expected, code
    anchors = set(re.findall(r"&(\w+)", outcome.text))
    assert set(re.findall(r"\*(\w+)", outcome.text)) <= anchors  # every alias still has its anchor


def lookup_of_text(text: str) -> Lookup:
    loaded = parse_catalogue(text, "tariffs.yaml")
    assert loaded.catalogue is not None
    return Lookup(loaded.catalogue)


def price_at(lookup: Lookup, code: str, day: dt.date) -> Decimal | None:
    quote = lookup.price(code, day)
    return quote.amount if quote else None
