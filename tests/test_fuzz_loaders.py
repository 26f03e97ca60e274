"""Fuzz every loader: whatever the bytes, the answer is a result with Problems, or InputError; never another
exception. Bounded for CI: at most 200 examples per property, no deadline (the first call warms Polars up).

Numbers of up to 40 digits are among the fields: far beyond 64-bit integers, and beyond the 28 digits of the
default decimal context.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from corpus.hostile import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup, parse_catalogue
from mgr_tariffs.checking import engine as checking
from mgr_tariffs.io.tables import read_table
from mgr_tariffs.parties import parse_parties
from mgr_tariffs.problems import InputError, Problem

pytestmark = pytest.mark.timeout(240)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])
TARIFFS_TEXT = (ROOT / "data" / "tariffs.yaml").read_text(encoding="utf-8")
PARTIES_TEXT = (ROOT / "data" / "examples" / "parties.yaml").read_text(encoding="utf-8")
HOUR_COLUMNS = ["datum", "bsn", "aanbieder", "gemeente", "productcode", "uren", "minuten", "opbrengst", "date",
                "client", "provider", "municipality", "product", "hours", "minutes", "revenue", "omschrijving"]
INVOICE_COLUMNS = ["factuurnummer", "aanbieder", "gemeente", "periode", "bsn", "productcode", "aantal", "minuten",
                   "tarief", "bedrag", "opbrengst", "datum_van", "datum_tot", "eenheid"]
SEPARATORS = [";", ",", "\t"]


def write_temp(data: bytes, suffix: str = ".csv") -> Path:
    with tempfile.NamedTemporaryFile(delete=False, suffix=suffix) as handle:
        handle.write(data)
    return Path(handle.name)


def only_problems(problems: list[Problem], file: str) -> None:
    assert all(isinstance(p, Problem) for p in problems)
    assert all(p.file == file for p in problems)


# --------------------------------------------------------------------------------------------- shared strategies

FIELD = st.one_of(
    st.sampled_from(["2021-03-01", "01-03-2021", "0001-01-01", "9999-12-31", "31-02-2021", "111222333", "123456789",
                     "Venlo", "Venray", "0983", "GM0889", "Weert", "LN017", "LN034", "LN035", "ln035", "LN999",
                     "1", "0,25", "1.5", "24", "25", "-1", "NaN", "inf", "1e400", "0x10", "60", "5,00", "",
                     "=SUM(A1)", "@x", '"', '""', "'", "\\", "\u00a0", "é", "\u202e", "W;X", "a\nb", "a\rb"]),
    st.text(max_size=12),
    st.from_regex(r"-?[0-9]{1,40}([.,][0-9]{1,4})?", fullmatch=True),
)


def csv_text(columns: list[str]) -> st.SearchStrategy[str]:
    @st.composite
    def build(draw: st.DrawFn) -> str:
        sep = draw(st.sampled_from(SEPARATORS))
        header = draw(st.lists(st.sampled_from(columns), min_size=1, max_size=9))
        rows = draw(st.lists(st.lists(FIELD, min_size=0, max_size=len(header) + 2), max_size=8))
        lines = [sep.join(header)] + [sep.join(row) for row in rows]
        end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        return end.join(lines) + draw(st.sampled_from(["", end]))

    return build()


def mutated(text: str) -> st.SearchStrategy[str]:
    """The text with a few of its lines deleted, duplicated, swapped, cut or overwritten."""
    lines = text.splitlines(keepends=True)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        result = list(lines)
        for _ in range(draw(st.integers(1, 6))):
            if not result:
                break
            i = draw(st.integers(0, len(result) - 1))
            action = draw(st.sampled_from(["delete", "duplicate", "swap", "cut", "replace", "insert"]))
            if action == "delete":
                del result[i]
            elif action == "duplicate":
                result.insert(i, result[i])
            elif action == "swap":
                j = draw(st.integers(0, len(result) - 1))
                result[i], result[j] = result[j], result[i]
            elif action == "cut":
                result[i] = result[i][: draw(st.integers(0, len(result[i])))]
            else:
                noise = draw(st.sampled_from(["", "  ", "- ", ": ", "&a ", "*a", "!!str ", "{", "[", "'", '"', "#",
                                              "1e400", ".nan", "9999-12-31", "0001-01-01", "-1", "~", "\t"]))
                new = noise + draw(st.text(max_size=20)) + "\n"
                if action == "replace":
                    result[i] = new
                else:
                    result.insert(i, new)
        return "".join(result)

    return build()


# ------------------------------------------------------------------------------------------------- read_table


@FUZZ
@given(data=st.binary(max_size=2000))
def test_read_table_on_arbitrary_bytes(data: bytes) -> None:
    path = write_temp(data)
    try:
        table = read_table(path)
    except InputError as exc:
        assert exc.file == str(path) and exc.message
    else:
        only_problems(table.problems, str(path))
        assert table.frame.columns[0] == "_line"
    finally:
        path.unlink()


@FUZZ
@given(text=csv_text(HOUR_COLUMNS), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
def test_read_table_on_csv_like_text(text: str, encoding: str) -> None:
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    path = write_temp(data)
    try:
        table = read_table(path)
    except InputError:
        pass
    else:
        only_problems(table.problems, str(path))
        lines = table.frame.get_column("_line").to_list()
        assert lines == sorted(lines) and len(set(lines)) == len(lines)
    finally:
        path.unlink()


# -------------------------------------------------------------------------------------------------- catalogue


@FUZZ
@given(text=st.text(max_size=500))
def test_parse_catalogue_on_arbitrary_text(text: str) -> None:
    result = parse_catalogue(text, "t.yaml")
    only_problems(result.problems, "t.yaml")
    assert result.catalogue is None or not any(p.is_error for p in result.problems)


@FUZZ
@given(text=mutated(TARIFFS_TEXT))
def test_parse_catalogue_on_mutated_tariffs(text: str) -> None:
    result = parse_catalogue(text, "tariffs.yaml")
    only_problems(result.problems, "tariffs.yaml")
    if result.catalogue is not None:
        Lookup(result.catalogue)  # a catalogue that passed validation can be used


# ---------------------------------------------------------------------------------------------------- billing


@FUZZ
@given(text=csv_text(HOUR_COLUMNS))
def test_bill_on_csv_like_hour_logs(text: str, lookup: Lookup) -> None:
    path = write_temp(text.encode("utf-8"))
    try:
        result = bill([path], lookup, BillOptions(today=None))
    except InputError:
        return
    finally:
        path.unlink()
    only_problems(result.errors + result.warnings, str(path))
    summary = result.summary
    assert summary.rows_billed + summary.rows_rejected <= summary.rows_read or result.errors


# ---------------------------------------------------------------------------------------------------- parties


@FUZZ
@given(text=st.one_of(st.text(max_size=400), mutated(PARTIES_TEXT)))
def test_parse_parties_on_arbitrary_and_mutated_text(text: str, lookup: Lookup) -> None:
    result = parse_parties(text, "parties.yaml", lookup)
    only_problems(result.problems, "parties.yaml")


# ------------------------------------------------------------------------------------------- invoices (check)


@FUZZ
@given(text=csv_text(INVOICE_COLUMNS))
def test_check_on_csv_like_invoices(text: str, lookup: Lookup) -> None:
    path = write_temp(text.encode("utf-8"))
    try:
        result = checking.check([path], lookup)
    except InputError:
        return
    finally:
        path.unlink()
    assert all(isinstance(p, Problem) for p in result.problems)
    assert not result.ok or not any(p.is_error for p in result.problems)


@FUZZ
@given(text=st.one_of(st.text(max_size=300), st.from_regex(r'\{"invoices": \[.{0,200}', fullmatch=True)))
def test_check_on_json_like_text(text: str, lookup: Lookup) -> None:
    path = write_temp(text.encode("utf-8"), suffix=".json")
    try:
        result = checking.check([path], lookup)
    except InputError:
        return
    finally:
        path.unlink()
    assert all(isinstance(p, Problem) for p in result.problems)


# ---------------------------------------------------------------------------------------------------- subsidies

SUBSIDY_TEXT = (ROOT / "data" / "examples" / "subsidie-weert-2018.yaml").read_text(encoding="utf-8")


@FUZZ
@given(text=st.one_of(st.text(max_size=400), mutated(SUBSIDY_TEXT)))
def test_parse_subsidies_on_arbitrary_and_mutated_text(text: str, lookup: Lookup) -> None:
    import datetime as dt  # noqa: PLC0415

    from mgr_tariffs.budgets.findings import findings  # noqa: PLC0415
    from mgr_tariffs.budgets.loader import parse_subsidies  # noqa: PLC0415
    from mgr_tariffs.budgets.status import subsidy_status  # noqa: PLC0415

    result = parse_subsidies(text, "subsidies.yaml", lookup)
    only_problems(result.problems, "subsidies.yaml")
    if result.subsidies is not None:  # a file that passed can be shown: status and findings never raise
        for index, subsidy in enumerate(result.subsidies.subsidies):
            status = subsidy_status(subsidy, lookup, dt.date(2018, 7, 1))
            findings(status, result.where, index)
