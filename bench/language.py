"""Interpreter benchmark: a 100,000-row CSV loop beside the same loop in plain Python, statements
per second, and the start-up of ``plainrun exec``.

Run it with:

    .venv/bin/python bench/language.py                 # 100,000 rows, 5 repetitions
    .venv/bin/python bench/language.py --rows 20000 --reps 3 --startup-runs 10

The CSV loop reads the rows with the files book, sums the amount column and counts the rows whose
amount is over 500; the plain-Python version does the same with ``csv.DictReader`` and ``Decimal``.
The two run one after the other in each repetition, so that both see the same load; the ratio is
interpreter time / Python time, of the fastest repetition of each and of the medians (target:
within 5x). The start-up is the wall time of ``plainrun exec`` of a one-line process in a new
process (as installed: with its compiled modules cached), against ``python -c pass`` in the same
run (target: under 0.3 s). The 1-minute load average of the machine is printed before and after:
quote the figures with it. To time an earlier version's start-up beside this one, unpack it
(``mkdir /tmp/plainrun-old && git archive d63efb7 plainrun | tar -x -C /tmp/plainrun-old``) and
pass ``--baseline /tmp/plainrun-old``; its CSV loop runs with ``PYTHONPATH=/tmp/plainrun-old``
(from outside the repository, ``--startup-runs 0``).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import plainrun.language
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
to summarise the invoices
  read the csv rows of the file
  the total is 0
  the count is 0
  process each row in the above as follows
    add the row's amount to the total
    if the row's amount > 500 then
      add 1 to the count
  the output total is the total
  the output count is the count
"""

THRESHOLD = 500


def make_csv(rows: int) -> bytes:
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["invoice", "vendor", "status", "amount"])
    for i in range(rows):
        status = rng.choice(["open", "paid", "Open"])
        writer.writerow([f"A-{i}", f"vendor {i % 97}", status, f"{rng.randint(1, 99999) / 100:.2f}"])
    return out.getvalue().encode()


def plain_python(data: bytes) -> tuple[Decimal, int]:
    total, count = Decimal(0), 0
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))):
        amount = Decimal(row["amount"])
        total += amount
        if amount > THRESHOLD:
            count += 1
    return total, count


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def statements_per_second(env: LocalEnvironment, rows: int) -> None:
    program = parse(STATEMENTS)
    outcome, seconds = timed(lambda: Execution.start(program, {"numbers": list(range(rows))}, [], env).run())
    assert isinstance(outcome, Succeeded), outcome
    statements = rows * 3.1 + 4  # add, define, if (and the set one time in eleven), plus setup
    print(f"statements per second: {statements / seconds:,.0f} ({statements:,.0f} in {seconds:.2f} s)")


def csv_loop(env: LocalEnvironment, rows: int, reps: int) -> None:
    data = make_csv(rows)
    file = env.add_file("invoices.csv", data, "text/csv")
    program = parse(CSV_LOOP)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(reps):
        outcome, seconds = timed(lambda: Execution.start(program, {}, [file], env).run())
        assert isinstance(outcome, Succeeded), outcome
        ours.append(seconds)
        (total, count), seconds = timed(lambda: plain_python(data))
        theirs.append(seconds)
        got = {o["name"]: o["value"] for o in outcome.outputs}
        assert abs(Decimal(str(got["total"])) - total) < Decimal("0.01") and got["count"] == count
    best, median = min(ours) / min(theirs), statistics.median(ours) / statistics.median(theirs)
    print(
        f"{rows:,}-row CSV loop, {reps} repetitions: interpreter best {min(ours):.3f} s, median"
        f" {statistics.median(ours):.3f} s; plain Python best {min(theirs):.3f} s, median"
        f" {statistics.median(theirs):.3f} s; ratio {best:.2f}x (best), {median:.2f}x (median); target 5x"
    )


def startup(runs: int, baseline: Path | None) -> None:
    """Wall time of ``plainrun exec`` of a one-line process, each in a new process; the commands
    take turns, so that each sees the same load. ``baseline``: a copy of another version's
    ``plainrun`` package, whose ``plainrun exec`` runs beside this one's."""
    folder = Path(tempfile.mkdtemp(prefix="plainrun-bench-exec-"))
    process = folder / "hello.process"
    process.write_text('to greet\n  say "hello"\n')
    # As installed: compiled modules cached (the first run writes them), files in the page cache.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    commands = {
        "plainrun exec": ([str(Path(sys.executable).with_name("plainrun")), "exec", str(process)], env),
        "python -c pass": ([sys.executable, "-c", "pass"], env),
    }
    if baseline is not None:
        main = "import sys; sys.argv[0] = 'plainrun'; from plainrun.cli import main; main()"
        command = [sys.executable, "-c", main, "exec", str(process)]
        commands[f"plainrun exec of {baseline}"] = (command, {**env, "PYTHONPATH": str(baseline)})
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command, command_env in commands.values():
        subprocess.run(command, check=True, capture_output=True, env=command_env, cwd=folder)
    for _ in range(runs):
        for name, (command, command_env) in commands.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=command_env, cwd=folder)
            times[name].append(time.perf_counter() - start)
    for name, seconds in times.items():
        target = " (target: under 0.3 s)" if name == "plainrun exec" else ""
        median, best = statistics.median(seconds), min(seconds)
        print(f"{name}: median {median:.3f} s, best {best:.3f} s over {runs} runs{target}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--startup-runs", type=int, default=20)
    parser.add_argument("--baseline", type=Path, help="another version's tree, timed beside (see above)")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load (1 min) {load()}")
    print(f"interpreter: {Path(plainrun.language.__file__).parent}")
    env = LocalEnvironment(Path(tempfile.mkdtemp(prefix="plainrun-bench-")))
    statements_per_second(env, args.rows)
    csv_loop(env, args.rows, args.reps)
    if args.startup_runs:
        startup(args.startup_runs, args.baseline)
    print(f"load (1 min) at the end {load()}")


if __name__ == "__main__":
    main()
