"""The processes in examples/ run with a local environment and do what they say."""

from __future__ import annotations

from pathlib import Path

from plainrun.language import (
    Execution,
    Guidance,
    LocalEnvironment,
    Paused,
    Succeeded,
    email_fact,
    parse,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(relative: str):  # type: ignore[no-untyped-def]
    path = EXAMPLES / relative
    return parse(path.read_text(), filename=str(path))


def test_invoice_approval_asks_about_large_invoices_only(tmp_path: Path) -> None:
    program = load("invoice_approval/approve invoices.process")
    assert program.inputs == ["approval limit"]
    env = LocalEnvironment(tmp_path)
    csv_file = env.add_path(EXAMPLES / "invoice_approval" / "invoices.csv")
    ex = Execution.start(program, {"approval limit": "5,000"}, [csv_file], env)
    paused = ex.run()
    assert isinstance(paused, Paused)
    assert paused.question == "Approve invoice INV-1003 from Coda Consulting for 12,500.00?"
    assert paused.choices == ["yes", "no"]
    ex = Execution.from_json(program, ex.to_json(), env)
    ex.answer(Guidance("value", "no"))
    done = ex.run()
    assert isinstance(done, Succeeded)
    assert done.log == ["not approved: INV-1003", "not approved: INV-1004"]
    assert done.outputs == [
        {"name": "approved", "value": "INV-1001, INV-1002, INV-1005"},
        {"name": "count", "value": 3},
        {"name": "total approved", "value": 2340.4},
    ]


def test_email_intake_reads_the_email_and_its_attachments(tmp_path: Path) -> None:
    program = load("email_intake/take in an email.process")
    env = LocalEnvironment(tmp_path)
    pdf = env.add_path(EXAMPLES / "email_intake" / "invoice-A-17.pdf")
    note = env.add_file("note.txt", b"hello")
    email = email_fact("Invoice A-17", "billing@acme.example", "Please pay, urgent.", [pdf, note])
    done = Execution.start(program, {}, [pdf, note], env, email=email).run()
    assert isinstance(done, Succeeded)
    assert done.log == ["mail from billing@acme.example: Invoice A-17", "skipped note.txt"]
    assert done.outputs == [
        {"name": "priority", "value": "high"},
        {"name": "invoices", "value": "A-17"},
        {"name": "attachments", "value": 2},
    ]


def test_vendor_check_runs_the_check_as_a_child_process(tmp_path: Path) -> None:
    onboard = load("vendor_check/onboard a vendor.process")
    check = load("vendor_check/check the vendor.process")
    env = LocalEnvironment(tmp_path, processes=[onboard, check])
    ok = Execution.start(onboard, {"vendor": "Acme", "country": "Atlantis"}, [], env).run()
    assert isinstance(ok, Succeeded)
    assert ok.outputs == [{"name": "approved", "value": "true"}, {"name": "risk", "value": "high"}]
    blocked = Execution.start(onboard, {"vendor": "shady ltd", "country": "France"}, [], env).run()
    assert isinstance(blocked, Succeeded)
    assert blocked.log == ["shady ltd is blocked: on the blocklist"]
    assert blocked.outputs == [{"name": "approved", "value": "false"}]
    assert len(env.children) == 2


def test_child_runs_in_parallel_and_fire_and_forget(tmp_path: Path) -> None:
    program = parse(
        "to bake\n"
        '  process each flavour in "apple", "cherry" as follows\n'
        "    start a run where\n      the procedure is /to make a pie\n      the flavour is the flavour\n"
        "  wait for the runs\n"
        "  the output pies is the runs's pie\n"
        '  invoke to make a pie with\n    the flavour is "plum"\n'
        "  the output started is the above\n\n"
        'to make a pie\n  the output pie is "{the flavour} pie"\n'
    )
    env = LocalEnvironment(tmp_path, processes=[program])
    done = Execution.start(program, {}, [], env).run()
    assert isinstance(done, Succeeded), done
    assert done.outputs[0] == {"name": "pies", "value": "apple pie, cherry pie"}
    assert done.outputs[1]["value"] in env.children
