from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mgr_tariffs.money import format_euro, half_up_div, line_amount, parse_decimal, round_cents


def test_round_half_up_to_cents() -> None:
    assert round_cents(Decimal("0.005")) == Decimal("0.01")
    assert round_cents(Decimal("8.705")) == Decimal("8.71")
    assert round_cents(Decimal("-0.005")) == Decimal("-0.01")


def test_three_rows_of_an_eighth_hour_round_once() -> None:
    # 3 x 0,125 h at 69,64 is one line of 26,12, not 3 x 8,71 = 26,13
    assert line_amount(Decimal("0.375"), Decimal("69.64")) == Decimal("26.12")
    assert 3 * line_amount(Decimal("0.125"), Decimal("69.64")) == Decimal("26.13")


def test_dutch_money_format() -> None:
    assert format_euro(Decimal("1234.5")) == "€ 1.234,50"
    assert format_euro(Decimal("1234567.891")) == "€ 1.234.567,89"
    assert format_euro(Decimal("48.6")) == "€ 48,60"


def test_parse_decimal_accepts_comma_and_point_only() -> None:
    assert parse_decimal("12,5") == Decimal("12.5")
    assert parse_decimal(" 0.1 ") == Decimal("0.1")
    for bad in ["", "1.234,5", "1e3", "nan", "inf", "twee", "1,2,3"]:
        assert parse_decimal(bad) is None


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=10**6))
def test_integer_half_up_matches_decimal(numerator: int, denominator: int) -> None:
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    assert half_up_div(numerator, denominator) == int(expected)


@given(st.decimals(min_value=0, max_value=10**6, places=3),
       st.decimals(min_value=Decimal("0.01"), max_value=1000, places=2))
def test_line_amount_is_whole_cents_and_within_half_a_cent(quantity: Decimal, price: Decimal) -> None:
    amount = line_amount(quantity, price)
    assert amount == amount.quantize(Decimal("0.01"))
    assert abs(amount - quantity * price) <= Decimal("0.005")
