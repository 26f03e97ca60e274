"""Dates and periods as people write them: one rule for logs, invoices and command options."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from mgr_tariffs.cli import app
from mgr_tariffs.dates import Period, parse_date, parse_period


@pytest.mark.parametrize(("text", "day"), [("2019-07-01", dt.date(2019, 7, 1)), ("01-07-2019", dt.date(2019, 7, 1)),
                                           ("1-7-2019", dt.date(2019, 7, 1)), (" 2024-02-29 ", dt.date(2024, 2, 29))])
def test_dates_in_either_form(text: str, day: dt.date) -> None:
    assert parse_date(text) == (day, None)


@pytest.mark.parametrize(("text", "reason"), [("31-02-2021", "datum '31-02-2021' does not exist"),
                                              ("2019/07/01", "datum '2019/07/01' is not a date (write yyyy-mm-dd or "
                                                             "dd-mm-yyyy)")])
def test_what_is_not_a_date(text: str, reason: str) -> None:
    assert parse_date(text) == (None, reason)


@pytest.mark.parametrize(("text", "months"), [
    ("2019-07", ["2019-07"]), ("2019-07..2019-09", ["2019-07", "2019-08", "2019-09"]),
    ("2019-Q3", ["2019-07", "2019-08", "2019-09"]), ("2019-12..2020-Q1", ["2019-12", "2020-01", "2020-02", "2020-03"]),
])
def test_periods_and_ranges(text: str, months: list[str]) -> None:
    period, reason = parse_period(text)
    assert reason is None and period is not None and period.months() == months


def test_a_period_contains_its_last_day() -> None:
    period = Period(dt.date(2024, 2, 1), dt.date(2024, 2, 1))
    assert period.end == dt.date(2024, 2, 29) and period.contains(dt.date(2024, 2, 29))
    assert not period.contains(dt.date(2024, 3, 1)) and str(period) == "2024-02"
    assert len(parse_period("2024")[0].months()) == 12  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["2019-13", "19-07", "2019-09..2019-07", "2019-07..2019-08..2019-09", "juli"])
def test_what_is_not_a_period(text: str) -> None:
    period, reason = parse_period(text)
    assert period is None and reason is not None and repr(text) in reason


def test_options_take_dates_in_either_form(runner: CliRunner) -> None:
    dutch = runner.invoke(app, ["price", "LN017", "--on", "01-07-2019"])
    iso = runner.invoke(app, ["price", "LN017", "--on", "2019-07-01"])
    assert dutch.exit_code == iso.exit_code == 0 and dutch.output == iso.output and "€ 48,60" in dutch.output
    wrong = runner.invoke(app, ["price", "LN017", "--on", "31-02-2021"])
    assert wrong.exit_code == 2 and "does not exist" in wrong.output
