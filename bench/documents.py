"""Accuracy of the documents book on invoices: 50 in five layouts, as text PDFs and as scans.

Run it with:

    .venv/bin/python bench/documents.py [--invoices 50] [--seed 21]

Each invoice is drawn with reportlab (bench/invoices.py: five layouts, labels beside and above
their values, ruled and unruled tables, three currencies, four date styles, a two-to-three-page
one), then scanned (150-300 dpi, turned by up to 1.5 degrees, grain, specks, JPEG). Each PDF is
read by a real process run by the interpreter in this process, ``extract the invoice from the
file``, and five fields are compared with what the invoice was drawn from: the invoice number, the
date, the vendor, the total and the line items (right only when every item's description,
quantity, unit price and amount is). The time per page is the reading's wall time over the pages.
Writes bench/results/documents.json and prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from invoices import Invoice, make, pdf, scan

from plainrun.language import Execution, LocalEnvironment, Succeeded, parse

RESULTS = Path(__file__).resolve().parent / "results"
PROCESS = parse(
    "to read an invoice\n  extract the invoice from the file\n  the output invoice is the above\n"
)
FIELDS = ("invoice number", "date", "vendor", "total", "line items")


def close(value: Any, expected: Decimal) -> bool:
    return isinstance(value, int | float) and abs(Decimal(str(value)) - expected) < Decimal("0.005")


def check(found: dict[str, Any], inv: Invoice) -> dict[str, bool]:
    items = found.get("line items", [])
    items_ok = len(items) == len(inv.items) and all(
        " ".join(str(got.get("description", "")).split()) == description
        and close(got.get("quantity"), Decimal(quantity))
        and close(got.get("unit price"), price)
        and close(got.get("amount"), amount)
        for got, description, (_, quantity, price, amount) in zip(
            items, inv.descriptions, inv.items, strict=False
        )
    )
    return {
        "invoice number": found.get("invoice number") == inv.number,
        "date": found.get("invoice date") == inv.date.isoformat(),
        "vendor": " ".join(str(found.get("vendor", "")).split()).lower() == inv.vendor.lower(),
        "total": close(found.get("total"), inv.total),
        "line items": items_ok,
    }


def read(data: bytes, directory: Path) -> tuple[dict[str, Any], float]:
    env = LocalEnvironment(directory)
    file = env.add_file("invoice.pdf", data, "application/pdf")
    started = time.perf_counter()
    outcome = Execution.start(PROCESS, {}, [file], env).run()
    elapsed = time.perf_counter() - started
    if not isinstance(outcome, Succeeded):
        return {"error": str(outcome)}, elapsed
    return json.loads(str(outcome.outputs[0]["value"])), elapsed


def run(count: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    invoices = [make(i, rng) for i in range(count)]
    kinds: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("text", "scan"):
            right = dict.fromkeys(FIELDS, 0)
            seconds = pages = 0.0
            misses = []
            for n, inv in enumerate(invoices):
                data = pdf(inv)
                dpi = None
                if kind == "scan":
                    data, dpi = scan(data, rng)
                found, elapsed = read(data, Path(tmp) / f"{kind}{n}")
                seconds += elapsed
                pages += inv.pages
                for name, ok in check(found, inv).items():
                    right[name] += ok
                    if not ok:
                        misses.append(
                            {
                                "invoice": n,
                                "layout": inv.layout,
                                "field": name,
                                "dpi": dpi,
                                "found": _shown(found, name),
                                "expected": _expected(inv, name),
                            }
                        )
            total = sum(right.values())
            kinds[kind] = {
                "fields_right": total,
                "fields": count * len(FIELDS),
                "accuracy": total / (count * len(FIELDS)),
                "by_field": right,
                "pages": pages,
                "seconds_per_page": seconds / pages,
                "misses": misses,
            }
    return kinds


def _shown(found: dict[str, Any], name: str) -> Any:
    key = {"date": "invoice date"}.get(name, name)
    return found.get(key, found.get("error"))


def _expected(inv: Invoice, name: str) -> Any:
    if name == "line items":
        return [[d, q, str(p), str(a)] for (d, (_, q, p, a)) in zip(inv.descriptions, inv.items, strict=True)]
    return {
        "invoice number": inv.number,
        "date": inv.date.isoformat(),
        "vendor": inv.vendor,
        "total": str(inv.total),
    }[name]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=50)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    kinds = run(args.invoices, args.seed)
    result = {
        "machine": {
            "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "load1": [load_before, os.getloadavg()[0]],
        "invoices": args.invoices,
        "seed": args.seed,
        **kinds,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "documents.json").write_text(json.dumps(result, indent=2, default=str))
    print(f"measured {result['machine']['date_utc']}, load {load_before:.2f} -> {result['load1'][1]:.2f}\n")
    print("| documents | fields right | accuracy | " + " | ".join(FIELDS) + " | s per page |")
    print("|---|---:|---:|" + "---:|" * len(FIELDS) + "---:|")
    for kind, r in kinds.items():
        by = " | ".join(f"{r['by_field'][f]}/{args.invoices}" for f in FIELDS)
        print(
            f"| {kind} PDFs | {r['fields_right']}/{r['fields']} | {r['accuracy']:.1%} | {by} | "
            f"{r['seconds_per_page']:.2f} |"
        )
    for kind, r in kinds.items():
        for miss in r["misses"][:20]:
            print(kind, json.dumps(miss, default=str)[:400])


if __name__ == "__main__":
    main()
