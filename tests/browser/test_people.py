"""The pages a team works in, in a real browser, on SQLite and on PostgreSQL: the Guidance Center and
its e-mail (to a real SMTP server), remembered answers, a live run, the home page's charts, every
run of the agent, and each page on a phone's width."""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from plainrun import cli
from tests.acceptance.conftest import LiveServer, free_port, start_server, stop_server
from tests.browser.conftest import PASSWORD, shot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

APPROVE = """to approve a payment
  ask "Approve the payment of {the amount}?"
    the choices are "yes", "no"
  the output decision is the above
"""


def slow(url: str) -> str:
    return f"""to check slowly
  say "starting the slow step"
  fetch json from "{url}"
  the output done is "yes"
"""


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


class Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(3)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Team:
    server: LiveServer
    inbox: Inbox
    slow_url: str
    agent_id: str
    key: str

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.server.url}{path}", headers={"x-api-key": self.key}, timeout=30, **kwargs
        )

    def process(self, source: str) -> str:
        created = self.api("POST", "/v2/processes", json={"agent_id": self.agent_id, "source": source})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def run(self, process_id: str, name: str, **inputs: object) -> str:
        body = {"agent_id": self.agent_id, "process_id": process_id, "stage": "Draft", "name": name}
        started = self.api("POST", "/v2/runs", json={**body, "inputs": inputs})
        assert started.status_code == 201, started.text
        return str(started.json()["id"])

    def wait_state(self, run_id: str, state: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while True:
            run = self.api("GET", f"/v2/runs/{run_id}").json()
            if run.get("state") == state:
                return dict(run)
            assert time.monotonic() < deadline, f"run {run_id} is {run.get('state')}, not {state}"
            time.sleep(0.1)


@pytest.fixture
def team(tmp_path: Path, database_url: str) -> Iterator[Team]:
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    env = {
        "PLAINRUN_SMTP_HOST": "127.0.0.1",
        "PLAINRUN_SMTP_PORT": str(smtp_port),
        "PLAINRUN_SMTP_SENDER": "plainrun@example.com",
        "PLAINRUN_OUTBOUND_ALLOW": "127.0.0.1",
    }
    url = database_url if database_url.startswith("postgresql") else None
    server = start_server(tmp_path, database_url=url, settings=env)
    try:
        agent_id, key = server.demo["AGENT_ID"], server.demo["PLAINRUN_KEY"]
        yield Team(server, inbox, f"http://127.0.0.1:{http.server_address[1]}/slow", agent_id, key)
    finally:
        stop_server(server)
        http.shutdown()
        http.server_close()
        controller.stop()


def sign_in(page: Page, name: str) -> None:
    page.goto("/ui/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/agents/\w+/processes$"))


def fits_a_phone(page: Page, path: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_team_works_through_its_questions_runs_and_figures(browser: Browser, team: Team) -> None:
    # bea is assigned the approvals: the e-mail goes to her address, and to finance.
    env = {k: team.server.env[k] for k in ("PLAINRUN_DATABASE_URL", "PLAINRUN_DATA_DIR")}
    made = CliRunner().invoke(
        cli.app,
        [
            "users",
            "create",
            "--agent",
            team.agent_id,
            "--name",
            "bea",
            "--email",
            "bea@example.com",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=env,
    )
    assert made.exit_code == 0, made.output
    approve = team.process(APPROVE)
    context = browser.new_context(base_url=team.server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, "bea")
        page.goto(f"/ui/processes/{approve}/routing")
        page.get_by_label("Also notify (one e-mail address a line)").fill("finance@example.com")
        page.get_by_role("checkbox", name=re.compile("^bea")).check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash")).to_contain_text("Saved")

        # 1. A waiting run is in the open Guidance Center, and the navigation counts it.
        page.goto("/ui/guidance")
        expect(page.locator("#nothing-waiting")).to_be_visible()
        first = team.run(approve, "Payment 1", amount=120)
        team.wait_state(first, "AwaitingGuidance")
        card = page.locator(f"#q-{first}")
        expect(card).to_be_visible(timeout=5_000)  # polled every second
        expect(card).to_contain_text("Approve the payment of 120?")
        expect(card).to_contain_text("assigned to bea")
        expect(card).to_contain_text('ask "Approve the payment of {the amount}?"')  # the source line
        expect(page.locator("#nav-guidance .badge")).to_have_text("1")
        shot(page, "people-guidance-center")

        # The e-mail reached the SMTP server, and its link opens the run.
        deadline = time.monotonic() + 30
        while not team.inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        [message] = team.inbox.messages
        assert "finance@example.com" in message["To"] and "bea@example.com" in message["To"]
        text = message.get_payload(decode=True).decode()
        assert "Approve the payment of 120?" in text
        [link] = re.findall(r"http://\S+/ui/runs/\w+", text)
        page.goto(link)
        expect(page.locator("h1")).to_have_text("Payment 1")

        # Answered from the list: no choice is pre-selected; the answer records who gave it.
        page.goto("/ui/guidance")
        assert not page.locator(f"#q-{first} input[type=radio]:checked").count()
        page.locator(f"#q-{first}").get_by_label("yes").check()
        page.locator(f"#q-{first}").get_by_role("button", name="Answer").click()
        expect(page.locator("#nothing-waiting")).to_be_visible()
        team.wait_state(first, "Succeeded")
        page.goto(f"/ui/runs/{first}")
        expect(page.locator(".timeline")).to_contain_text(
            'Bea answered "yes" to "Approve the payment of 120?"'
        )

        # 2. Remembering is confirmed with what it will do; the remembered answer shows and is removable.
        second = team.run(approve, "Payment 2", amount=80)
        team.wait_state(second, "AwaitingGuidance")
        page.goto(f"/ui/runs/{second}")
        page.get_by_label("yes").check()
        page.get_by_label("Remember this answer for later runs").check()
        page.get_by_role("button", name="Answer", exact=True).click()
        expect(page.locator("#remember-what")).to_contain_text(
            "The same question on line 2 will be answered yes from now on"
        )
        page.get_by_role("button", name="Answer and remember").click()
        team.wait_state(second, "Succeeded")
        third = team.run(approve, "Payment 3", amount=80)
        team.wait_state(third, "Succeeded")  # answered by the remembered answer, no one asked
        page.goto(f"/ui/runs/{third}")
        learned = page.locator("#learned a")
        expect(learned).to_contain_text("answered by a remembered answer of bea")
        page.goto(f"/ui/agents/{team.agent_id}/runs")
        expect(page.locator("tr", has_text="Payment 3")).to_contain_text(
            "answered by a remembered answer of bea"
        )
        page.goto(f"/ui/runs/{third}")
        learned.click()
        expect(page.locator("#learnings")).to_contain_text("Approve the payment of 80?")
        page.get_by_role("button", name=re.compile("^Remove the answer")).click()
        expect(page.locator("#learnings")).to_contain_text("No remembered answers")
        fourth = team.run(approve, "Payment 4", amount=80)
        team.wait_state(fourth, "AwaitingGuidance")  # asked of a person again

        # 3. A live run: the line logged before a 3-second step shows while the run is Running.
        slow_id = team.process(slow(team.slow_url))
        live = team.run(slow_id, "Slow one")
        page.goto(f"/ui/runs/{live}")
        # The line and the state in the same fragment: the page shows the line while the run runs.
        running = page.locator("#live:has(#run-state:text-is('Running'))")
        expect(running.locator(".timeline")).to_contain_text("starting the slow step", timeout=20_000)
        events = team.api("GET", f"/v2/runs/{live}/events").json()["items"]
        assert any((e.get("data") or {}).get("text") == "starting the slow step" for e in events)
        expect(page.locator("#run-state")).to_have_text("Succeeded", timeout=30_000)
        expect(page.locator("#run-times")).to_contain_text("Ran for")

        # 4. The home page counts the runs made here: 4 approvals and 1 slow run.
        page.goto(f"/ui/agents/{team.agent_id}/home")
        expect(page.locator("#fig-waiting")).to_have_text("1")
        bars = page.locator("#chart-per-day rect[data-state]")
        counts: dict[str, int] = {}
        for i in range(bars.count()):
            state = bars.nth(i).get_attribute("data-state") or ""
            counts[state] = counts.get(state, 0) + int(bars.nth(i).get_attribute("data-count") or 0)
        assert counts == {"Succeeded": 4, "AwaitingGuidance": 1}, counts
        expect(page.locator("#process-figures")).to_contain_text("approve a payment")
        shot(page, "people-home")

        # 5. Every run of the agent on one page: search, a total, the same filters in the API.
        page.goto(f"/ui/agents/{team.agent_id}/runs")
        expect(page.locator("#total")).to_have_text("5 runs")
        page.get_by_label("Name").fill("payment 4")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#total")).to_have_text("1 run")
        page.goto(f"/ui/agents/{team.agent_id}/runs?state=AwaitingGuidance")
        expect(page.locator("table.runs tbody tr")).to_have_count(1)
        expect(page.locator("table.runs")).to_contain_text("Awaiting Guidance")  # state names with spaces
        listed = team.api(
            "GET", "/v2/runs", params={"agent_id": team.agent_id, "name": "payment", "limit": 2}
        )
        assert listed.status_code == 200 and len(listed.json()["items"]) == 2
        more = team.api(
            "GET",
            "/v2/runs",
            params={
                "agent_id": team.agent_id,
                "name": "payment",
                "limit": 2,
                "continuation_token": listed.json()["continuation_token"],
            },
        )
        assert len(more.json()["items"]) == 2

        # 7. Every page fits a phone.
        for path in (
            "/ui/guidance",
            f"/ui/agents/{team.agent_id}/home",
            f"/ui/agents/{team.agent_id}/runs",
            f"/ui/agents/{team.agent_id}/processes",
            f"/ui/runs/{first}",
            f"/ui/processes/{approve}",
            f"/ui/processes/{approve}/runs",
            f"/ui/processes/{approve}/learnings",
            f"/ui/processes/{approve}/routing",
        ):
            fits_a_phone(page, path)
    finally:
        context.close()
    assert errors == []
