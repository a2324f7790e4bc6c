"""``plainrun test``, ``plainrun test-cases …`` and the bulk run actions (re-run, archive)."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from plainrun.cli._common import ExitCode, console
from plainrun.cli.backend import StageName, backend
from plainrun.cli.output import JsonOption, QuietOption, listing, print_ids, print_json, print_table, progress
from plainrun.client.models import BulkResult, TestResult, TestRun
from plainrun.domain.runs import Stage

if TYPE_CHECKING:
    from plainrun.cli.backend import Backend

cases_app = typer.Typer(help="Test cases: add from runs, list, remove.", no_args_is_help=True)


def junit(test_run: TestRun, results: Sequence[TestResult]) -> str:
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


def _diff(d: dict[str, Any]) -> str:
    if d["problem"] == "Output Mismatch":
        return f"{d['problem']}: {d.get('name', '')} expected {d.get('expected')!r} got {d.get('actual')!r}"
    return f"{d['problem']}: {d.get('name') or d.get('message') or d.get('question', '')}"


def _settled(test_run: TestRun) -> int:
    return sum(r.status != "Pending" for r in test_run.results or [])


def run_suite(b: Backend, process_ids: list[str], stage: StageName, timeout: float) -> TestRun:
    """Start the Test Suite and follow it (a progress bar of the test cases settled) to its end;
    at ``timeout`` it is stopped."""
    agent_id = b.get_process(process_ids[0]).agent_id
    test_run = b.start_test_run(agent_id, process_ids, stage)
    deadline = time.monotonic() + timeout
    with progress(f"test run {test_run.id}", len(test_run.results or [])) as advance:
        done = _settled(test_run)
        advance(done, "")
        while not test_run.finished and time.monotonic() < deadline:
            time.sleep(0.2)
            test_run = b.get_test_run(test_run.id)
            now = _settled(test_run)
            if now != done:
                advance(now - done, "")
                done = now
    if not test_run.finished:
        test_run = b.stop_test_run(test_run.id)
    return test_run


#: Runs per request of a bulk action (the API takes at most 100).
BULK = 100


def _bulk(
    run_ids: list[str], label: str, act: Callable[[list[str]], list[BulkResult]], as_json: bool
) -> None:
    results: list[BulkResult] = []
    with progress(label, len(run_ids)) as advance:
        for at in range(0, len(run_ids), BULK):
            chunk = run_ids[at : at + BULK]
            results.extend(act(chunk))
            advance(len(chunk), "")
    if as_json:
        print_json({"results": results})
        return
    print_table(["run", "result", "new run"], [[r.run_id, r.result, r.new_run_id or ""] for r in results])


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
        as_json: JsonOption = False,
    ) -> None:
        """Run the Test Suite; exits 1 if any test case did not pass (so it can gate CI)."""
        where: StageName = "Draft" if stage is Stage.DRAFT else "Published"
        with backend() as b:
            test_run = run_suite(b, process_ids, where, timeout)
        results = test_run.results or []
        if junit_file is not None:
            junit_file.write_text(junit(test_run, results), encoding="utf-8")
        passed = sum(r.status == "Passed" for r in results)
        if as_json:
            print_json(test_run)
        else:
            rows = [
                [r.test_case_id, r.name, r.status, "; ".join(_diff(d) for d in r.diff or [])] for r in results
            ]
            print_table(["test case", "name", "status", "diff"], rows)
            console.print(f"{passed} passed, {len(results) - passed} failed", highlight=False)
        if passed != len(results):
            raise typer.Exit(ExitCode.FAILED)

    @runs_app.command("rerun")
    def rerun(run_ids: list[str], as_json: JsonOption = False) -> None:
        """Re-run runs with the same inputs, files and stage, at the stage's current version."""
        with backend() as b:
            _bulk(run_ids, "rerun", b.rerun_runs, as_json)

    @runs_app.command("archive")
    def archive(run_ids: list[str], as_json: JsonOption = False) -> None:
        """Archive runs (a running run keeps running)."""
        with backend() as b:
            _bulk(run_ids, "archive", b.archive_runs, as_json)

    @runs_app.command("unarchive")
    def unarchive(run_ids: list[str], as_json: JsonOption = False) -> None:
        """Unarchive runs."""
        with backend() as b:
            _bulk(run_ids, "unarchive", b.unarchive_runs, as_json)


@cases_app.command("add")
def add(
    run_ids: list[str],
    output: Annotated[
        list[str] | None, typer.Option(help="An output that counts (repeatable; default all)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Make a test case from each succeeded run."""
    with backend() as b:
        results = b.add_test_cases(run_ids, output)
    if as_json:
        print_json({"results": results})
    else:
        rows = [[r.run_id, r.result, r.test_case_id or ""] for r in results]
        print_table(["run", "result", "test case"], rows)


@cases_app.command("list")
def list_cmd(process_id: str, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """A process's test cases."""
    with backend() as b:
        process = b.get_process(process_id)
        cases = b.list_test_cases(process.id, process.agent_id)
    if as_json:
        print_json(listing(cases))
    elif quiet:
        print_ids(c.id for c in cases)
    else:
        rows = [
            [
                c.id,
                c.name,
                ", ".join(f"{i['name']}={i['value']}" for i in c.inputs),
                ", ".join(f"{o['name']}={o['value']}" for o in c.expected),
            ]
            for c in cases
        ]
        print_table(["id", "name", "inputs", "expected"], rows)


@cases_app.command("remove")
def remove(test_case_id: str) -> None:
    """Remove a test case (the next suites leave it out)."""
    with backend() as b:
        b.remove_test_case(test_case_id)
    console.print(f"removed {test_case_id}", highlight=False)
