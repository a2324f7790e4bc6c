"""Every form of the UI refuses a bad value the same way, over HTTP on SQLite and PostgreSQL: the
page comes back (400, or 401 for credentials) with the form, the message beside the field it is
about (``aria-invalid``, ``aria-describedby``), every value as it was typed, and nothing saved.

Each case starts from the form as the page shows it (what a browser would send), changes some
fields as a person would, and sends it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from plainrun.domain.processes import Process
from plainrun.domain.runs import RunState, Stage
from plainrun.http import create_app
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.services.runs import RunFilter, RunRequest
from plainrun.settings import Settings
from tests.browser.forms_html import read_page
from tests.browser.test_pages import signed_in
from tests.unit.services.conftest import settle

SOURCE = "to check an invoice\n  the total is the amount + the tax\n  the output total is the total\n"
PASSWORD = "password 1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: What a refused form never sends back, and what is no typed value.
SECRETS = ("password", "api_key")


@dataclass
class World:
    services: Services
    client: TestClient
    agent_id: str
    process: Process
    user_id: str
    schedule_id: str
    case_id: str
    test_run_id: str


def _test_run(services: Services, process: Process) -> tuple[str, str]:
    """A test case, and a test run where its one output differs."""
    run = services.runs.start(
        SYSTEM,
        RunRequest(
            agent_id=process.agent_id,
            process_id=process.id,
            stage=Stage.PUBLISHED,
            name="case",
            inputs={"amount": 1, "tax": 2},
        ),
    )
    settle(services, [(run.id, RunState.SUCCEEDED, {"outputs": [{"name": "total", "value": 3}]})])
    [added] = services.tests.add_cases(SYSTEM, [run.id])
    test_run, results = services.tests.start(
        SYSTEM, agent_id=process.agent_id, process_ids=[process.id], stage=Stage.PUBLISHED
    )
    run_ids = [r.run_id for r in results if r.run_id]
    settle(services, [(r, RunState.SUCCEEDED, {"outputs": [{"name": "total", "value": 4}]}) for r in run_ids])
    return added["test_case_id"], test_run.id


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    services = build_services(Settings(database_url=database_url, data_dir=tmp_path), migrate=True)
    try:
        agent = services.store.agents.create("acme")
        process = services.processes.create(SYSTEM, agent_id=agent.id, source=SOURCE)
        services.processes.publish(SYSTEM, process.id)
        services.processes.create(SYSTEM, agent_id=agent.id, source="to file a claim\n  say 1\n")
        client = signed_in(services, agent.id)
        user = services.users.create(agent_id=agent.id, name="ann", password=PASSWORD)
        schedule = services.schedules.create(
            SYSTEM,
            agent_id=agent.id,
            process_id=process.id,
            name="nightly",
            kind="daily",
            at="02:00",
            timezone="Europe/Berlin",
            inputs=[{"name": "amount", "value": "1"}, {"name": "tax", "value": "2"}],
        )
        case_id, test_run_id = _test_run(services, process)
        yield World(services, client, agent.id, process, user.id, schedule.id, case_id, test_run_id)
    finally:
        services.close()


def saved(w: World) -> tuple[Any, ...]:
    """Everything a form of the UI could change."""
    s, agent, pid = w.services, w.agent_id, w.process.id
    return (
        [
            (r.id, r.state)
            for r in s.runs.page(SYSTEM, agent_id=agent, process_id=None, where=RunFilter(), limit=100).items
        ],
        s.processes.page(SYSTEM, agent, limit=100).items,
        s.processes.versions(SYSTEM, pid),
        s.schedules.of_agent(SYSTEM, agent_id=agent),
        s.mail.settings(SYSTEM, pid),
        s.routing.get(SYSTEM, pid),
        s.webhooks.page(SYSTEM, agent).items,
        s.tests.cases(SYSTEM, agent_id=agent, process_id=pid),
        s.store.files.agent_bytes(agent),
    )


Path_ = Callable[[World], str]


@dataclass(frozen=True)
class Case:
    id: str
    page: Path_
    #: The control the message belongs to (its id), and the id of the message.
    control: str | Callable[[World], str]
    message: str
    changes: Callable[[World], dict[str, str | list[str]]]
    action: Path_ | None = None  # default: the form's own action
    error_id: str | Callable[[World], str] | None = None  # default: the control's id + "-error"
    status: int = 400
    anonymous: bool = False
    #: Fields a tampered value of which no control can show: what the form shows instead.
    shown: dict[str, list[str]] = field(default_factory=dict)


def _process(w: World) -> str:
    return f"/ui/processes/{w.process.id}"


def _run_form(w: World) -> str:
    return f"/ui/processes/{w.process.id}/run?stage=Draft"


def _new_schedule(w: World) -> str:
    return f"/ui/processes/{w.process.id}/schedules/new"


CASES = [
    Case(
        "run form: a name over the limit",
        _run_form,
        "run-name",
        "At most 100 characters (this is 101).",
        lambda w: {"name": "n" * 101, "input:Draft:amount": "12", "input:Draft:tax": "3", "fail_fast": []},
    ),
    Case(
        "run form: an input no database keeps",
        _run_form,
        "input-Draft-1",
        "NUL characters are not allowed in text.",
        lambda w: {
            "stage": "Published",
            "name": "march",
            "input:Draft:amount": "1\x002",
            "input:Draft:tax": "3",
        },
    ),
    Case(
        "run form: an input over the limit of the published stage",
        lambda w: f"/ui/processes/{w.process.id}/run?stage=Published",
        "input-Published-2",
        "At most 100,000 characters (this is 100,001).",
        lambda w: {"input:Published:amount": "5", "input:Published:tax": "9" * 100_001},
    ),
    Case(
        "new process: a name another process has",
        lambda w: f"/ui/agents/{w.agent_id}/processes",
        "source",
        "already named “File a Claim”",
        lambda w: {"source": "to File a  Claim\n  say 2\n"},
    ),
    Case(
        "new process: a syntax error",
        lambda w: f"/ui/agents/{w.agent_id}/processes",
        "source",
        "syntax error",
        lambda w: {"source": '\nto go\n  say "open\n'},
        error_id="syntax-errors",
    ),
    Case(
        "draft: a first line that names another process",
        _process,
        "source",
        "already named “file a claim”",
        lambda w: {"source": "to file a claim\n  say 3\n"},
    ),
    Case(
        "publish: a text with a syntax error publishes nothing",
        _process,
        "source",
        "syntax error",
        lambda w: {"source": SOURCE + "  the total is\n"},
        action=lambda w: f"/ui/processes/{w.process.id}/publish",
        error_id="syntax-errors",
    ),
    Case(
        "rename: a name over the limit",
        _process,
        "process-name",
        "The name is 101 characters long; the limit is 100.",
        lambda w: {"name": "x" * 101},
    ),
    Case(
        "settings: a time limit that is no number",
        _process,
        "settings-timeout",
        "Give the time limit as a number, or leave it empty.",
        lambda w: {"description": "monthly <b>close</b>", "on_exception": "fail", "timeout_s": "soon"},
    ),
    Case(
        "settings: no run at once",
        _process,
        "settings-concurrency",
        "max_concurrency must be a whole number from 1",
        lambda w: {"timeout_s": "90", "max_concurrency": "0"},
    ),
    Case(
        "new schedule: a time zone that is none",
        _new_schedule,
        "s-zone",
        "The time zone is not an IANA time zone name.",
        lambda w: {
            "name": "weekday digest",
            "kind": "cron",
            "cron": "0 9 * * 1-5",
            "timezone": "Europe/Atlantis",
            "input:amount": "5",
            "input:tax": "1",
            "catch_up": "latest",
        },
    ),
    Case(
        "new schedule: every N minutes that is no number",
        _new_schedule,
        "s-every",
        "Give the number of minutes as a whole number.",
        lambda w: {
            "kind": "every",
            "every_minutes": "often",
            "input:amount": "5",
            "input:tax": "1",
            "enabled": [],
        },
    ),
    Case(
        "new schedule: an input left out",
        _new_schedule,
        "s-input-2",
        "The schedule must give every input the published process needs.",
        lambda w: {"kind": "hourly", "minute": "15", "input:amount": "5", "input:tax": ""},
    ),
    Case(
        "schedule: a time past the day",
        lambda w: f"/ui/schedules/{w.schedule_id}",
        "s-at",
        "HH:MM",
        lambda w: {"kind": "weekly", "day": "friday", "at": "25:00", "timezone": "Asia/Tokyo"},
    ),
    Case(
        "schedule: a catch-up window too short",
        lambda w: f"/ui/schedules/{w.schedule_id}",
        "s-window",
        "window",
        lambda w: {"catch_up": "all_within", "window": "5", "input:tax": "7"},
    ),
    Case(
        "e-mail: a sender that is no address",
        _process,
        "mail-senders",
        "A sender is an e-mail address or @domain.",
        lambda w: {"mode": "restricted", "senders": "ana@example.com\nnot an address"},
    ),
    Case(
        "e-mail: a member that is no address",
        _process,
        "mail-members",
        "A sender is an e-mail address or @domain.",
        lambda w: {"members": "\nboss@acme.example\nnobody"},
    ),
    Case(
        "routing: an address to notify that is none",
        lambda w: f"/ui/processes/{w.process.id}/routing",
        "notify",
        "An address to notify is not an e-mail address.",
        lambda w: {"assignees": [w.user_id], "notify": "ops@example.com\nnot an address"},
    ),
    Case(
        "webhooks: a URL the outbound rules refuse",
        lambda w: f"/ui/agents/{w.agent_id}/webhooks",
        "url",
        "The URL is refused",
        lambda w: {"url": "http://127.0.0.1:9/hook", "events": ["run.failed"], "description": "ops"},
    ),
    Case(
        "webhooks: a process the agent does not have",
        lambda w: f"/ui/agents/{w.agent_id}/webhooks",
        "process_id",
        "The agent has no process with this id.",
        lambda w: {"url": "https://93.184.215.14/hook", "process_id": "nope", "description": "x" * 10},
    ),
    Case(
        "webhooks: a description over the limit",
        lambda w: f"/ui/agents/{w.agent_id}/webhooks",
        "description",
        "At most 200 characters (this is 201).",
        lambda w: {"url": "https://93.184.215.14/hook", "description": "d" * 201, "events": []},
    ),
    Case(
        "test suite: an output the case does not have",
        lambda w: f"/ui/processes/{w.process.id}/tests",
        lambda w: f"outputs-{w.case_id}",
        "The case has no such outputs.",
        lambda w: {"output": ["nope"]},
        shown={"output": []},
    ),
    Case(
        "test suite: a stage that is none",
        lambda w: f"/ui/processes/{w.process.id}/tests",
        "stage",
        "Choose the Published version or the Draft.",
        lambda w: {"stage": "Someday"},
        shown={"stage": ["Published"]},
    ),
    Case(
        "test run: accepting an output the run does not have",
        lambda w: f"/ui/test-runs/{w.test_run_id}",
        lambda w: f"accept-{w.case_id}-output-1",
        "The run has no such output.",
        lambda w: {"output": "nope"},
        error_id=lambda w: f"accept-{w.case_id}-output-error",
        shown={"output": ["total"]},  # a hidden field: the button's own output
    ),
    Case(
        "every run: a date range that ends before it starts",
        lambda w: f"/ui/agents/{w.agent_id}/runs",
        "f-end",
        "The end of a date range must come after its start.",
        lambda w: {"name": "inv", "start": "2026-03-10", "end": "2026-03-01", "archived": "true"},
    ),
    Case(
        "sign-in: a wrong password",
        lambda w: "/ui/sign-in",
        "password",
        "The name or the password is not right.",
        lambda w: {"name": "ann", "password": "wrong password"},
        status=401,
        anonymous=True,
    ),
    Case(
        "sign-in: no name",
        lambda w: "/ui/sign-in",
        "name",
        "Give your user name.",
        lambda w: {"name": "", "password": PASSWORD},
        anonymous=True,
    ),
    Case(
        "sign-in: a key that is none",
        lambda w: "/ui/sign-in",
        "api_key",
        "The API key is not valid.",
        lambda w: {"api_key": "pr_nope"},
        status=401,
        anonymous=True,
    ),
]


def _id(value: str | Callable[[World], str], w: World) -> str:
    return value if isinstance(value, str) else value(w)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_refused_form_comes_back_as_typed_with_its_fields_message(world: World, case: Case) -> None:
    client = (
        TestClient(create_app(world.services.settings, services=world.services))
        if case.anonymous
        else world.client
    )
    control = _id(case.control, world)
    error_id = _id(case.error_id, world) if case.error_id else f"{control}-error"
    shown = client.get(case.page(world))
    assert shown.status_code == 200, shown.text
    form = read_page(shown.text).form_with(control)
    sent = {**form.values, **case.changes(world)}
    before = saved(world)

    target = case.action(world) if case.action else form.action
    if form.method == "get":  # a filter form: its values in the query
        answer = client.get(target, params=sent, follow_redirects=False)
    else:
        answer = client.post(target, data=sent, follow_redirects=False)

    assert answer.status_code == case.status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    page = read_page(answer.text)
    assert case.message in page.texts.get(error_id, ""), (error_id, page.texts.get(error_id))
    again = page.form_with(control)
    attributes = again.ids[control]
    assert attributes.get("aria-invalid") == "true", attributes
    assert error_id in attributes.get("aria-describedby", "").split(), attributes
    typed = {k: v if isinstance(v, list) else [v] for k, v in sent.items() if k not in SECRETS}
    typed = {k: v for k, v in {**typed, **case.shown}.items() if v != []}
    kept = {k: v for k, v in again.values.items() if k not in SECRETS}
    assert {k: sorted(v) for k, v in kept.items()} == {k: sorted(v) for k, v in typed.items()}
    assert all(again.values.get(k, [""]) == [""] for k in SECRETS), "a secret was sent back"
    assert saved(world) == before
