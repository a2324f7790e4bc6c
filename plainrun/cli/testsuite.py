"""``plainrun test``, ``plainrun test-cases …`` and the bulk run actions (re-run, archive)."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from plainrun.cli._common import console, err_console, services
from plainrun.domain.runs import Stage
from plainrun.domain.testsuite import TestResult, TestRun
from plainrun.services.access import SYSTEM

cases_app = typer.Typer(help="Test cases: add from runs, list, remove.", no_args_is_help=True)


def junit(test_run: TestRun, results: list[TestResult]) -> str:
    """The results as JUnit XML, for CI systems."""
    failed = sum(r.status == "Failed" for r in results)
    errors = sum(r.status == "Guidance Required" for r in results)
    skipped = sum(r.status == "Skipped" for r in results)
    suite = ET.Element(
        "testsuite",
        name=f"plainrun test run {test_run.id}",
        tests=str(len(results)),
        failures=str(failed),
        errors=str(errors),
        skipped=str(skipped),
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=r.process_id, name=f"{r.name} [{r.test_case_id}]")
        detail = json.dumps(r.diff or [], indent=2)
        if r.status == "Failed":
            ET.SubElement(
                case, "failure", message="; ".join(d.get("problem", "") for d in r.diff or [])
            ).text = detail
        elif r.status == "Guidance Required":
            ET.SubElement(case, "error", message="Guidance Required").text = detail
        elif r.status == "Skipped":
            ET.SubElement(case, "skipped", message=(r.diff or [{}])[0].get("message", "skipped"))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def register(app: typer.Typer, runs_app: typer.Typer) -> None:
    app.add_typer(cases_app, name="test-cases")

    @app.command("test")
    def test(
        process_ids: Annotated[list[str], typer.Argument(help="The processes whose test cases to run")],
        stage: Annotated[
            Stage, typer.Option(help="Test the Draft or the Published version")
        ] = Stage.PUBLISHED,
        junit_file: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here")] = None,
        timeout: Annotated[float, typer.Option(help="Seconds to wait for the results")] = 600.0,
    ) -> None:
        """Run the Test Suite; exits 1 if any test case did not pass (so it can gate CI)."""
        with services() as s:
            agent_id = s.processes.get(SYSTEM, process_ids[0]).agent_id
            test_run, results = s.tests.start(SYSTEM, agent_id=agent_id, process_ids=process_ids, stage=stage)
            deadline = time.monotonic() + timeout
            with err_console.status(f"test run {test_run.id}"):
                while test_run.state == "Running" and time.monotonic() < deadline:
                    time.sleep(0.1)
                    test_run, results = s.tests.get(SYSTEM, test_run.id)
            if test_run.state == "Running":
                test_run, results = s.tests.stop(SYSTEM, test_run.id)
        table = Table("test case", "name", "status", "diff")
        for r in results:
            diff = "; ".join(
                f"{d['problem']}: {d.get('name', '')} expected {d.get('expected')!r} got {d.get('actual')!r}"
                if d["problem"] == "Output Mismatch"
                else f"{d['problem']}: {d.get('name') or d.get('message') or d.get('question', '')}"
                for d in r.diff or []
            )
            table.add_row(r.test_case_id, r.name, r.status, diff)
        console.print(table)
        if junit_file is not None:
            junit_file.write_text(junit(test_run, results), encoding="utf-8")
        passed = sum(r.status == "Passed" for r in results)
        console.print(f"{passed} passed, {len(results) - passed} failed", highlight=False)
        if passed != len(results):
            raise typer.Exit(1)

    @runs_app.command("rerun")
    def rerun(run_ids: list[str]) -> None:
        """Re-run runs with the same inputs, files and stage, at the stage's current version."""
        with services() as s:
            results = s.tests.rerun(SYSTEM, run_ids)
        typer.echo(json.dumps(results, indent=2))

    @runs_app.command("archive")
    def archive(run_ids: list[str]) -> None:
        """Archive runs (a running run keeps running)."""
        with services() as s:
            typer.echo(json.dumps(s.runs.set_archived(SYSTEM, run_ids, True), indent=2))

    @runs_app.command("unarchive")
    def unarchive(run_ids: list[str]) -> None:
        with services() as s:
            typer.echo(json.dumps(s.runs.set_archived(SYSTEM, run_ids, False), indent=2))


@cases_app.command("add")
def add(
    run_ids: list[str],
    output: Annotated[
        list[str] | None, typer.Option(help="An output that counts (repeatable; default all)")
    ] = None,
) -> None:
    """Make a test case from each succeeded run."""
    with services() as s:
        typer.echo(json.dumps(s.tests.add_cases(SYSTEM, run_ids, outputs=output), indent=2))


@cases_app.command("list")
def list_cmd(process_id: str) -> None:
    with services() as s:
        process = s.processes.get(SYSTEM, process_id)
        cases = s.tests.cases(SYSTEM, agent_id=process.agent_id, process_id=process_id)
    table = Table("id", "name", "inputs", "expected")
    for c in cases:
        table.add_row(
            c.id,
            c.name,
            ", ".join(f"{i['name']}={i['value']}" for i in c.inputs),
            ", ".join(f"{o['name']}={o['value']}" for o in c.expected),
        )
    console.print(table)


@cases_app.command("remove")
def remove(test_case_id: str) -> None:
    with services() as s:
        s.tests.remove_case(SYSTEM, test_case_id)
    console.print(f"removed {test_case_id}")
