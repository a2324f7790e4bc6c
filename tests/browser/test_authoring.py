"""Authoring in the browser, on SQLite and PostgreSQL: the process editor (colours, errors as you
type, completion), nothing lost (leaving, publishing, comparing, restoring), names, archiving,
the run form, schedules, e-mail and the Test Suite."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.acceptance.conftest import LiveServer, start_server, stop_server
from tests.browser.conftest import sign_in_with_key, write_process
from tests.conftest import _admin, _pg_url

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

_databases = itertools.count()


@dataclass
class Authoring:
    server: LiveServer
    agent_id: str
    key: str

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}{path}", headers={"x-api-key": self.key}, timeout=30, **kwargs
        )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def authoring(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Authoring]:
    database_url = None
    name = ""
    if request.param == "postgres":
        template = request.getfixturevalue("pg_template")
        name = f"plainrun_t{os.getpid()}_ui{next(_databases)}"
        _admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        database_url = _pg_url(name)
    server = start_server(Path(tmp_path_factory.mktemp("authoring")), database_url=database_url)
    try:
        yield Authoring(server, server.demo["AGENT_ID"], server.demo["PLAINRUN_KEY"])
    finally:
        stop_server(server)
        if name:
            _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Dialogs:
    """Every dialog a page opened, as (type, message); confirms are accepted unless ``refuse``."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    refuse: bool = False

    def __call__(self, dialog: Dialog) -> None:
        self.seen.append((dialog.type, dialog.message))
        if dialog.type == "confirm" and not self.refuse:
            dialog.accept()
        else:
            dialog.dismiss()


@pytest.fixture
def dialogs() -> Dialogs:
    return Dialogs()


@pytest.fixture
def page(browser: Browser, authoring: Authoring, dialogs: Dialogs) -> Iterator[Page]:
    context = browser.new_context(base_url=authoring.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("dialog", dialogs)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    sign_in_with_key(page, authoring.key)
    yield page
    context.close()
    assert errors == [], f"errors in the browser: {errors}"


def editor_text(page: Page) -> str:
    return str(page.evaluate("() => document.querySelector('.editor.cm').plainrunView.state.doc.toString()"))


def create(page: Page, authoring: Authoring, source: str) -> str:
    page.goto(f"/ui/agents/{authoring.agent_id}/processes")
    write_process(page, source)
    page.get_by_role("button", name="Create the process").click()
    page.wait_for_url(re.compile(r"/ui/processes/\w+$"))
    return page.url.rsplit("/", 1)[1]


def test_the_editor_colours_checks_and_completes_as_you_type(page: Page, authoring: Authoring) -> None:
    page.goto(f"/ui/agents/{authoring.agent_id}/processes")
    content = page.locator(".editor.cm .cm-content")
    content.click()
    page.keyboard.type("to welcome a guest\n")
    page.keyboard.type('  the greeting is "hello"\n')
    # The name line is coloured as a procedure's name; a string as a string.
    heading = page.locator(".cm-line").first.locator("span").first
    expect(heading).to_have_css("color", "rgb(36, 86, 199)")
    expect(page.locator(".cm-line").nth(1).locator("span", has_text='"hello"')).to_have_css(
        "color", "rgb(28, 124, 67)"
    )
    # An error as you type, from the server's parser, with its line and column.
    page.keyboard.type('the shout is "unclosed')  # a new line keeps the indentation of the one before
    status = page.locator(".lint-status")
    expect(status).to_contain_text("Line 3, column", timeout=20_000)
    expect(page.locator(".cm-lint-marker-error")).to_have_count(1)
    page.keyboard.type('"\n')
    expect(status).to_have_text("No syntax errors.", timeout=20_000)
    # Completion of a book's phrase, with its parameters as fields.
    page.keyboard.type("uppercas")
    options = page.locator(".cm-tooltip-autocomplete li")
    expect(options.filter(has_text="uppercase a (text)")).to_have_count(1)
    expect(options.filter(has_text="uppercase a (text)")).to_contain_text("book · text")
    expect(options.first).to_have_attribute("aria-selected", "true")
    page.wait_for_timeout(300)  # CodeMirror ignores Enter for a moment after its list opens
    page.keyboard.press("Enter")
    expect(page.locator(".cm-line").nth(3)).to_have_text("  uppercase the text")
    # Completion of the facts in scope: what this procedure defined.
    page.keyboard.press("End")
    page.keyboard.type("\nsay the gre")
    expect(options.filter(has_text="greeting")).to_have_attribute("aria-selected", "true")
    page.wait_for_timeout(300)  # CodeMirror ignores Enter for a moment after its list opens
    page.keyboard.press("Enter")
    expect(page.locator(".cm-line").nth(4)).to_have_text("  say the greeting")
    # The process's own procedures are offered too.
    write_process(page, "to welcome a guest\n  say 1\n\nto check a (door)\n  say 2\n")
    page.locator(".cm-line").nth(1).click()
    page.keyboard.press("End")
    page.keyboard.type("\ncheck")
    expect(options.filter(has_text="check a (door)")).to_contain_text("this process · door")


def test_nothing_is_lost_leaving_publishing_comparing_and_restoring(
    page: Page, authoring: Authoring, dialogs: Dialogs
) -> None:
    first = 'to stamp a letter\n  the output stamp is "first"\n'
    process_id = create(page, authoring, first)
    # Leaving with unsaved edits asks first (and staying keeps them).
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type('  say "edited"')
    expect(page.locator("[data-unsaved]")).to_have_text("Unsaved changes.")
    page.get_by_role("link", name="View Runs").click()
    expect(page).to_have_url(re.compile(rf"/ui/processes/{process_id}$"))
    assert ("beforeunload", "") in dialogs.seen
    assert editor_text(page).endswith('say "edited"')
    # Publish publishes exactly the editor's text (saved first).
    page.get_by_role("button", name="Save and publish").click()
    expect(page.locator(".flash")).to_have_text("Published version 1.")
    version = authoring.api("GET", f"/v2/processes/{process_id}/versions/1").json()
    assert version["source"] == first + '  say "edited"'
    # Publishing the same text again makes no version, and says so.
    page.get_by_role("button", name="Save and publish").click()
    expect(page.locator(".flash")).to_have_text(
        "The draft is the same as version 1: no new version was published."
    )
    again = authoring.api("POST", f"/v2/processes/{process_id}/publish")
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["version"] == 1
    assert len(authoring.api("GET", f"/v2/processes/{process_id}/versions").json()["items"]) == 1
    # Change and publish version 2, then compare 1 with 2 and restore 1 into the draft.
    write_process(page, first + '  say "second"\n')
    page.get_by_role("button", name="Save and publish").click()
    expect(page.locator(".flash")).to_have_text("Published version 2.")
    page.goto(f"/ui/processes/{process_id}/compare?old=1&new=2")
    expect(page.locator("tr.diff-removed")).to_contain_text('say "edited"')
    expect(page.locator("tr.diff-added")).to_contain_text('say "second"')
    expect(page.locator("tr.diff-same")).to_have_count(2)
    page.get_by_label("New").select_option("1")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#compare-summary")).to_have_text("Version 1 and version 1 are the same.")
    page.get_by_role("button", name="Restore version 1 into the draft").click()
    expect(page.locator(".flash")).to_contain_text("Restored version 1 into the draft")
    assert editor_text(page) == first + '  say "edited"'
    assert ("confirm", "Replace the draft with version 1? The versions are kept.") in dialogs.seen


def test_names_are_unique_follow_the_first_line_and_are_never_cut(page: Page, authoring: Authoring) -> None:
    process_id = create(page, authoring, "to file a claim\n  say 1\n")
    # The same name again: refused with a clear error, and the text is kept.
    page.goto(f"/ui/agents/{authoring.agent_id}/processes")
    write_process(page, "to File a  Claim\n  say 2\n")
    page.get_by_role("button", name="Create the process").click()
    expect(page.locator("#source-error")).to_contain_text("already named")
    assert editor_text(page) == "to File a  Claim\n  say 2\n"
    duplicate = authoring.api(
        "POST", "/v2/processes", json={"agent_id": authoring.agent_id, "source": "to file a claim\n  say 3\n"}
    )
    assert duplicate.status_code == 409
    assert set(duplicate.json()) == {"status_code", "message", "details"}
    # A name over the limit is refused with the limit, never cut.
    long_line = "to " + " ".join(["approve"] * 15)
    page.goto(f"/ui/agents/{authoring.agent_id}/processes")
    write_process(page, long_line + "\n  say 1\n")
    page.get_by_role("button", name="Create the process").click()
    expect(page.locator("#syntax-errors")).to_contain_text("the limit is 100")
    # The name follows the first line …
    page.goto(f"/ui/processes/{process_id}")
    write_process(page, "to file an insurance claim\n  say 1\n")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("file an insurance claim")
    # … and can be changed; a bad name keeps what was typed, with the field's own message.
    name = page.locator("#process-name")
    name.fill("x" * 101)
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("#process-name-error")).to_have_text(
        "The name is 101 characters long; the limit is 100."
    )
    expect(name).to_have_value("x" * 101)
    name.fill("Claims intake")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Claims intake")
    # Archiving keeps the runs and takes the process out of the list.
    run = authoring.api(
        "POST",
        "/v2/runs",
        json={"agent_id": authoring.agent_id, "process_id": process_id, "stage": "Draft", "name": "kept"},
    )
    assert run.status_code in (200, 201), run.text
    page.get_by_role("button", name="Archive").click()
    expect(page.locator(".flash")).to_contain_text("its runs are kept")
    page.goto(f"/ui/agents/{authoring.agent_id}/processes")
    expect(page.get_by_role("link", name="Claims intake")).to_have_count(0)
    page.get_by_role("link", name="Archived processes").click()
    expect(page.get_by_role("link", name="Claims intake")).to_have_count(1)
    assert (
        authoring.api("GET", f"/v2/runs/{run.json()['id']}?agent_id={authoring.agent_id}").status_code == 200
    )


def test_the_run_form_follows_the_chosen_stage(page: Page, authoring: Authoring) -> None:
    process_id = create(page, authoring, "to greet a visitor\n  the output text is the salutation\n")
    page.get_by_role("button", name="Save and publish").click()
    write_process(page, "to greet a visitor\n  the output text is the visitor name\n")
    page.get_by_role("button", name="Save the draft").click()
    page.goto(f"/ui/processes/{process_id}/run?stage=Published")
    expect(page.get_by_label("salutation", exact=True)).to_be_visible()
    expect(page.get_by_label("visitor name", exact=True)).to_be_hidden()
    expect(page.locator("[data-stage-inputs=Published]")).to_contain_text("required")
    expect(page.locator("[data-stage-inputs=Published]")).to_contain_text("An input left empty is not given")
    page.get_by_label("Draft (revision 2)").check()
    expect(page.get_by_label("visitor name", exact=True)).to_be_visible()
    expect(page.get_by_label("salutation", exact=True)).to_be_hidden()
    page.get_by_label("visitor name", exact=True).fill("Ada")
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/ui/runs/\w+$"))
    run = authoring.api("GET", f"/v2/runs/{page.url.rsplit('/', 1)[1]}?agent_id={authoring.agent_id}").json()
    assert run["inputs"] == [{"name": "visitor name", "value": "Ada"}]


def test_schedules_are_made_and_changed_in_the_ui(page: Page, authoring: Authoring, dialogs: Dialogs) -> None:
    process_id = create(page, authoring, "to send a digest\n  the output subject is the topic\n")
    page.get_by_role("button", name="Save and publish").click()
    page.get_by_role("link", name="New schedule").click()
    # A bad value is refused with that field's own message, and what was typed stays.
    page.get_by_label("Name", exact=True).fill("weekday digest")
    page.get_by_label("Repeats").select_option("cron")
    page.get_by_label("Cron expression").fill("0 9 * * 1-5")
    page.get_by_label("Time zone").fill("Europe/Atlantis")
    page.get_by_label("Input: topic").fill("sales")
    page.get_by_role("button", name="Create the schedule").click()
    expect(page.locator("#s-zone-error")).to_have_text("The time zone is not an IANA time zone name.")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Atlantis")
    expect(page.get_by_label("Cron expression")).to_have_value("0 9 * * 1-5")
    expect(page.get_by_label("Input: topic")).to_have_value("sales")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_role("button", name="Create the schedule").click()
    page.wait_for_url(re.compile(r"/ui/schedules/\w+$"))
    schedule_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#schedule-summary")).to_contain_text("every weekday at 09:00, Europe/Berlin")
    fires = page.locator("#next-fires li")
    expect(fires).to_have_count(5)
    for text in fires.all_inner_texts():
        assert re.search(r"^(Mon|Tue|Wed|Thu|Fri) \d{4}-\d\d-\d\d 09:00 CES?T$", text), text
    # Every kind the API has, edited in place.
    for kind, fill, words in [
        ("hourly", {"Minute of the hour (hourly)": "15"}, "every hour at minute 15"),
        ("daily", {"Time, HH:MM (daily, weekly)": "07:30"}, "every day at 07:30"),
        ("every", {"Every N minutes": "45"}, "every 45 minutes"),
    ]:
        page.get_by_label("Repeats").select_option(kind)
        for label, value in fill.items():
            page.get_by_label(label).fill(value)
        page.get_by_role("button", name="Save the schedule").click()
        expect(page.locator("#schedule-summary")).to_contain_text(f"{words}, Europe/Berlin")
    page.get_by_label("Repeats").select_option("weekly")
    page.get_by_label("Day (weekly)").select_option("friday")
    page.get_by_label("Time, HH:MM (daily, weekly)").fill("25:00")
    page.get_by_role("button", name="Save the schedule").click()
    expect(page.locator("#s-at-error")).to_contain_text("HH:MM")
    expect(page.get_by_label("Time, HH:MM (daily, weekly)")).to_have_value("25:00")
    page.get_by_label("Time, HH:MM (daily, weekly)").fill("16:45")
    page.get_by_label("Missed slots").select_option("all_within")
    page.get_by_label("Window in seconds (run each one)").fill("3600")
    page.get_by_role("button", name="Save the schedule").click()
    expect(page.locator("#schedule-summary")).to_contain_text("every Friday at 16:45, Europe/Berlin")
    api = authoring.api("GET", f"/v2/schedules/{schedule_id}").json()
    assert (api["kind"], api["catch_up"]) == ("weekly", {"policy": "all_within", "window_s": 3600})
    assert api["inputs"] == [{"name": "topic", "value": "sales"}]
    # Disable, enable, delete (asked first).
    page.get_by_role("button", name="Disable").click()
    expect(page.locator(".flash")).to_contain_text("Disabled the schedule")
    expect(page.locator("#next-h + p")).to_have_text("None: the schedule is disabled.")
    page.get_by_role("button", name="Enable").click()
    expect(page.locator("#next-fires li")).to_have_count(5)
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".flash")).to_contain_text("Deleted the schedule “weekday digest”")
    assert any(kind == "confirm" and "Delete the schedule" in text for kind, text in dialogs.seen)
    assert authoring.api("GET", f"/v2/schedules/{schedule_id}").status_code == 404
    expect(page).to_have_url(re.compile(rf"/ui/processes/{process_id}"))


def test_e_mail_addresses_and_senders_are_managed_in_the_ui(
    page: Page, authoring: Authoring, dialogs: Dialogs
) -> None:
    create(page, authoring, "to read the post\n  say 1\n")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    address = page.locator("#address-Draft").inner_text()
    page.get_by_role("button", name="Copy the Draft address").click()
    expect(page.get_by_role("button", name="Copy the Draft address")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == address
    # Rotating asks first: refused, nothing changes; accepted, a new address.
    dialogs.refuse = True
    page.get_by_role("button", name="Rotate the Draft address").click()
    expect(page.locator("#address-Draft")).to_have_text(address)
    dialogs.refuse = False
    page.get_by_role("button", name="Rotate the Draft address").click()
    expect(page.locator(".flash")).to_contain_text("the old one is refused from now on")
    assert page.locator("#address-Draft").inner_text() != address
    # Who may send: a bad entry keeps what was typed, with the field's message.
    page.get_by_label("Only the senders listed below").check()
    page.get_by_label(re.compile("^Listed senders and domains")).fill("ana@example.com\nnot an address")
    page.get_by_role("button", name="Save who may send").click()
    expect(page.locator("#mail-senders-error")).to_have_text("A sender is an e-mail address or @domain.")
    expect(page.get_by_label(re.compile("^Listed senders and domains"))).to_have_value(
        "ana@example.com\nnot an address"
    )
    expect(page.get_by_label("Only the senders listed below")).to_be_checked()
    page.get_by_label(re.compile("^Listed senders and domains")).fill("Ana@Example.com\n@partner.example")
    page.get_by_role("button", name="Save who may send").click()
    expect(page.locator(".flash")).to_have_text("Saved who may send e-mail to the process.")
    expect(page.get_by_label(re.compile("^Listed senders and domains"))).to_have_value(
        "ana@example.com\n@partner.example"
    )
    page.get_by_label(re.compile("^The agent's members \\(one a line")).fill("boss@acme.example")
    page.get_by_role("button", name="Save the members").click()
    expect(page.locator(".flash")).to_have_text("Saved the agent's members.")
    page.get_by_label("The agent's members", exact=True).check()
    page.get_by_role("button", name="Save who may send").click()
    expect(page.get_by_label("The agent's members", exact=True)).to_be_checked()
    expect(page.get_by_label(re.compile("^The agent's members \\(one a line"))).to_have_value(
        "boss@acme.example"
    )
    page.get_by_label("Anyone").check()
    page.get_by_role("button", name="Save who may send").click()
    expect(page.get_by_label("Anyone")).to_be_checked()


def test_the_test_suite_counts_marks_accepts_and_asks_before_removing(
    page: Page, authoring: Authoring, dialogs: Dialogs
) -> None:
    source = """to price a parcel
  the output total is the weight * 2
  the output label is "parcel"
"""
    process_id = create(page, authoring, source)
    page.get_by_role("button", name="Save and publish").click()
    started = authoring.api(
        "POST",
        "/v2/runs",
        json={
            "agent_id": authoring.agent_id,
            "process_id": process_id,
            "stage": "Published",
            "name": "parcel of 3",
            "inputs": [{"name": "weight", "value": 3}],
        },
    ).json()
    run_id = started["id"]
    for _ in range(120):
        if (
            authoring.api("GET", f"/v2/runs/{run_id}?agent_id={authoring.agent_id}").json()["status"]
            == "Succeeded"
        ):
            break
        page.wait_for_timeout(500)
    added = authoring.api("POST", "/v2/test-cases", json={"run_ids": [run_id, run_id]})
    assert added.status_code in (200, 201), added.text
    assert [r["result"] for r in added.json()["results"]] == ["added", "refused"]
    again = authoring.api("POST", "/v2/test-cases", json={"run_ids": [run_id]}).json()["results"]
    assert again[0]["result"] == "refused" and "already the test case" in again[0]["message"]
    # Change the draft so that one output differs, and run the tests against the draft.
    page.goto(f"/ui/processes/{process_id}")
    write_process(page, source.replace("* 2", "* 3"))
    page.get_by_role("button", name="Save the draft").click()
    page.goto(f"/ui/processes/{process_id}/tests")
    page.get_by_label("Against").select_option("Draft")
    page.get_by_role("button", name="Run tests").click()
    expect(page.locator("#test-run-state")).to_have_text("Finished", timeout=60_000)
    expect(page.locator("[data-count=Failed]")).to_have_text("1 failed")
    expect(page.locator("[data-count=Passed]")).to_have_text("0 passed")
    expect(page.locator("[data-count='Guidance Required']")).to_have_text("0 guidance required")
    expect(page.locator("[data-count=Skipped]")).to_have_text("0 skipped")
    # All outputs shown; the differing one marked, with its actual value to accept.
    rows = page.locator("tr.result-failed")
    expect(rows).to_have_count(2)
    expect(page.locator("tr.result-failed.differs")).to_contain_text("total")
    expect(page.locator("tr.result-failed.differs")).to_contain_text("9")
    expect(page.locator("tr.result-failed:not(.differs)")).to_contain_text("label")
    page.get_by_role("button", name="Accept the actual value of total").click()
    expect(page.locator(".flash")).to_contain_text("now expects the actual value of total")
    page.goto(f"/ui/processes/{process_id}/tests")
    expect(page.locator("tbody tr").first).to_contain_text("total: 9")
    expect(page.locator("li[data-test-run]").first).to_contain_text("1 failed")
    # Choose the outputs the case compares.
    page.get_by_label("label", exact=True).uncheck()
    page.get_by_role("button", name="Save the outputs compared").click()
    expect(page.locator(".flash")).to_contain_text("compares 1 output(s)")
    expect(page.locator("tbody tr").first).not_to_contain_text("label: parcel")
    # The same through the API.
    listed = authoring.api("GET", f"/v2/test-cases?process_id={process_id}&agent_id={authoring.agent_id}")
    case_id = listed.json()["items"][0]["id"]
    put = authoring.api("PUT", f"/v2/test-cases/{case_id}/outputs", json={"outputs": ["total", "label"]})
    assert put.status_code == 200 and [o["name"] for o in put.json()["expected"]] == ["total", "label"]
    bad = authoring.api("PUT", f"/v2/test-cases/{case_id}/outputs", json={"outputs": ["nope"]})
    assert bad.status_code == 400 and set(bad.json()) == {"status_code", "message", "details"}
    page.reload()
    expect(page.locator("tbody tr").first).to_contain_text("label: parcel")
    # Removing asks first.
    dialogs.refuse = True
    page.get_by_role("button", name=re.compile("^Remove the test case")).click()
    expect(page.locator("tbody tr").first).to_contain_text("total: 9")
    dialogs.refuse = False
    page.get_by_role("button", name=re.compile("^Remove the test case")).click()
    expect(page.locator(".flash")).to_have_text("Removed the test case.")
    cases = authoring.api("GET", f"/v2/test-cases?process_id={process_id}&agent_id={authoring.agent_id}")
    assert cases.json()["items"] == []
