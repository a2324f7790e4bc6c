"""Numbers: rounding (half up, as people round), smallest and largest."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from plainrun.language.books import procedure
from plainrun.language.comparison import order
from plainrun.language.values import EXACT


@procedure("to round a (number)")
def round_number(number: Decimal) -> int:
    return int(number.to_integral_value(rounding=ROUND_HALF_UP))


@procedure("to round a (number) to (places) decimals")
def round_to(number: Decimal, places: int) -> Decimal:
    if not 0 <= places <= 20:
        raise ValueError("the number of decimals is between 0 and 20")
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=EXACT)


def _best(numbers: list[Any], sign: int) -> Any:
    if not numbers:
        raise ValueError("the list is empty")
    best = numbers[0]
    for item in numbers[1:]:
        if order(item, best) == sign:
            best = item
    return best


@procedure("to pick the smallest of the (numbers)")
def smallest(numbers: list[Any]) -> Any:
    return _best(numbers, -1)


@procedure("to pick the largest of the (numbers)")
def largest(numbers: list[Any]) -> Any:
    return _best(numbers, 1)
