"""Interpreter benchmark: statements per second, and a 100k-row CSV loop against plain Python.

Run it with:

    .venv/bin/python bench/language.py            # 100,000 rows
    .venv/bin/python bench/language.py --rows 20000

The CSV loop reads the rows with the files book, keeps the open invoices and totals their amounts;
the plain-Python version does the same with ``csv.DictReader`` and ``Decimal``. The ratio printed
last is interpreter time / Python time (target: within 30x).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from plainrun.language import Execution, LocalEnvironment, Succeeded, parse

STATEMENTS = """\
to count up
  the total is 0
  the n is 0
  process each number in the numbers as follows
    add the number to the total
    the n is the n + 1
    if the n > 10 then
      set the n to 0
  the output total is the total
"""

CSV_LOOP = """\
to total the open invoices
  read the csv rows of the file
  the rows are the above
  the total is 0
  process each row in the rows as follows
    if the row's status is "open" then
      add the row's amount to the total
  the output total is the total
"""


def make_csv(rows: int) -> bytes:
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["invoice", "vendor", "status", "amount"])
    for i in range(rows):
        writer.writerow(
            [
                f"A-{i}",
                f"vendor {i % 97}",
                rng.choice(["open", "paid", "Open"]),
                f"{rng.randint(1, 99999) / 100:.2f}",
            ]
        )
    return out.getvalue().encode()


def plain_python(data: bytes) -> Decimal:
    total = Decimal(0)
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))):
        if row["status"].strip().casefold() == "open":
            total += Decimal(row["amount"].replace(",", ""))
    return total


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    env = LocalEnvironment(Path(tempfile.mkdtemp(prefix="plainrun-bench-")))

    numbers = list(range(args.rows))
    program = parse(STATEMENTS)
    outcome, seconds = timed(lambda: Execution.start(program, {"numbers": numbers}, [], env).run())
    assert isinstance(outcome, Succeeded), outcome
    statements = args.rows * 3.1 + 4  # add, define, if (and the set one time in eleven), plus setup
    print(
        f"statements per second: {statements / seconds:,.0f} "
        f"({statements:,.0f} statements in {seconds:.2f} s)"
    )

    data = make_csv(args.rows)
    file = env.add_file("invoices.csv", data, "text/csv")
    program = parse(CSV_LOOP)
    outcome, interpreted = timed(lambda: Execution.start(program, {}, [file], env).run())
    assert isinstance(outcome, Succeeded), outcome
    expected, python = timed(lambda: plain_python(data))
    got = Decimal(str(outcome.outputs[0]["value"]))
    assert abs(got - expected) < Decimal("0.01"), (got, expected)
    print(
        f"{args.rows:,}-row CSV loop: interpreter {interpreted:.2f} s, plain Python {python:.3f} s, "
        f"ratio {interpreted / python:.1f}x (target 30x)"
    )


if __name__ == "__main__":
    main()
