"""Bad input in the browser, on SQLite and PostgreSQL: each form, given a bad value, comes back with
the field's own message beside it (tied to the field), every value as it was typed, and nothing
saved. (tests/browser/test_refused_forms.py holds every form over HTTP.)"""

# ruff: noqa: F811 - the fixtures of test_authoring.py are this module's, and their names are parameters here

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import write_process
from tests.browser.test_authoring import Authoring, authoring, dialogs, editor_text, page  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SOURCE = "to check an invoice\n  the total is the amount + the tax\n  the output total is the total\n"


def _published(authoring: Authoring, source: str = SOURCE) -> str:
    made = authoring.api("POST", "/v2/processes", json={"agent_id": authoring.agent_id, "source": source})
    assert made.status_code == 201, made.text
    process_id = str(made.json()["id"])
    assert authoring.api("POST", f"/v2/processes/{process_id}/publish").status_code in (200, 201)
    return process_id


def _refused(page: Page, control: str, message: str) -> None:
    """The page that came back: the field's message beside it, and tied to it."""
    error = page.locator(f"#{control}-error")
    expect(error).to_contain_text(message)
    field = page.locator(f"#{control}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", re.compile(rf"(^| ){control}-error( |$)"))


def run_form(page: Page, authoring: Authoring) -> None:
    process_id = _published(authoring, SOURCE.replace("check an invoice", "check a bill"))
    page.goto(f"/ui/processes/{process_id}/run?stage=Published")
    page.get_by_label("Draft (revision 1)").check()
    page.get_by_label("Run name").fill("r" * 101)
    draft = page.locator("[data-stage-inputs=Draft]")
    draft.get_by_label("amount", exact=True).fill("9,500.00")
    draft.get_by_label("tax", exact=True).fill("900")
    page.get_by_label("Fail at the first exception").uncheck()
    page.get_by_role("button", name="Start the run").click()
    _refused(page, "run-name", "At most 100 characters (this is 101).")
    expect(page.get_by_label("Run name")).to_have_value("r" * 101)
    expect(page.get_by_label("Draft (revision 1)")).to_be_checked()
    expect(draft.get_by_label("amount", exact=True)).to_have_value("9,500.00")
    expect(draft.get_by_label("tax", exact=True)).to_have_value("900")
    expect(page.locator("[data-stage-inputs=Published]")).to_be_hidden()
    expect(page.get_by_label("Fail at the first exception")).not_to_be_checked()
    runs = authoring.api("GET", f"/v2/runs?process_id={process_id}&agent_id={authoring.agent_id}")
    assert runs.json()["items"] == []
    # Corrected, the same form starts the run with what was typed.
    page.get_by_label("Run name").fill("bill 7")
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/ui/runs/\w+$"))
    run = authoring.api("GET", f"/v2/runs/{page.url.rsplit('/', 1)[1]}").json()
    assert (run["name"], run["stage"]) == ("bill 7", "Draft")
    assert run["inputs"] == [{"name": "amount", "value": "9,500.00"}, {"name": "tax", "value": "900"}]


def process_settings(page: Page, authoring: Authoring) -> None:
    process_id = _published(authoring, SOURCE.replace("check an invoice", "check a receipt"))
    page.goto(f"/ui/processes/{process_id}")
    page.get_by_label("Description").fill("receipts of the month")
    page.get_by_label("When a step cannot go on").select_option("fail")
    page.get_by_label(re.compile("^Time limit of a run")).fill("an hour")
    page.get_by_label(re.compile("^Runs at once")).fill("4")
    page.get_by_role("button", name="Save the settings").click()
    _refused(page, "settings-timeout", "Give the time limit as a number, or leave it empty.")
    expect(page.get_by_label("Description")).to_have_value("receipts of the month")
    expect(page.get_by_label("When a step cannot go on")).to_have_value("fail")
    expect(page.get_by_label(re.compile("^Time limit of a run"))).to_have_value("an hour")
    expect(page.get_by_label(re.compile("^Runs at once"))).to_have_value("4")
    stored = authoring.api("GET", f"/v2/processes/{process_id}").json()
    assert stored["description"] == "" and stored["settings"]["on_exception"] == "pause"
    page.get_by_label(re.compile("^Time limit of a run")).fill("3600")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.locator(".flash")).to_contain_text("Saved the settings")
    stored = authoring.api("GET", f"/v2/processes/{process_id}").json()
    assert stored["settings"]["timeout_s"] == 3600 and stored["settings"]["max_concurrency"] == 4


def new_process(page: Page, authoring: Authoring) -> None:
    _published(authoring, "to stamp a form\n  say 1\n")
    page.goto(f"/ui/agents/{authoring.agent_id}/processes")
    text = "to Stamp a Form\n  say 2\n"
    write_process(page, text)
    page.get_by_role("button", name="Create the process").click()
    expect(page.locator("#source-error")).to_contain_text("already named “Stamp a Form”")
    expect(page.locator(".cm-content")).to_have_attribute("aria-invalid", "true")
    assert editor_text(page) == text
    listed = authoring.api("GET", f"/v2/processes?agent_id={authoring.agent_id}").json()["items"]
    assert [p["name"] for p in listed].count("stamp a form") == 1
    assert "Stamp a Form" not in [p["name"] for p in listed]


def routing(page: Page, authoring: Authoring) -> None:
    process_id = _published(authoring, SOURCE.replace("check an invoice", "check a refund"))
    page.goto(f"/ui/processes/{process_id}/routing")
    page.get_by_label("Also notify").fill("ops@example.com\nnot an address")
    page.get_by_role("button", name="Save").click()
    _refused(page, "notify", "An address to notify is not an e-mail address.")
    expect(page.get_by_label("Also notify")).to_have_value("ops@example.com\nnot an address")
    page.goto(f"/ui/processes/{process_id}/routing")  # what is stored
    expect(page.get_by_label("Also notify")).to_have_value("")


def schedule(page: Page, authoring: Authoring) -> None:
    process_id = _published(authoring, SOURCE.replace("check an invoice", "check a payslip"))
    page.goto(f"/ui/processes/{process_id}/schedules/new")
    page.get_by_label("Name", exact=True).fill("payslips")
    page.get_by_label("Repeats").select_option("every")
    page.get_by_label("Every N minutes").fill("a few")
    page.get_by_label("Time zone").fill("America/New_York")
    page.get_by_label("Input: amount").fill("10")
    page.get_by_label("Missed slots").select_option("latest")
    page.get_by_label("Enabled").uncheck()
    page.get_by_role("button", name="Create the schedule").click()
    _refused(page, "s-every", "Give the number of minutes as a whole number.")
    expect(page.get_by_label("Name", exact=True)).to_have_value("payslips")
    expect(page.get_by_label("Repeats")).to_have_value("every")
    expect(page.get_by_label("Every N minutes")).to_have_value("a few")
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    expect(page.get_by_label("Input: amount")).to_have_value("10")
    expect(page.get_by_label("Missed slots")).to_have_value("latest")
    expect(page.get_by_label("Enabled")).not_to_be_checked()
    listed = authoring.api("GET", f"/v2/schedules?agent_id={authoring.agent_id}&process_id={process_id}")
    assert listed.json()["items"] == []


def webhook(page: Page, authoring: Authoring) -> None:
    page.goto(f"/ui/agents/{authoring.agent_id}/webhooks")
    page.get_by_label(re.compile("^URL")).fill("http://10.0.0.8/hook")
    page.get_by_label("run.succeeded").uncheck()
    page.get_by_label("Description").fill("the ledger")
    page.get_by_role("button", name="Subscribe").click()
    _refused(page, "url", "The URL is refused")
    expect(page.get_by_label(re.compile("^URL"))).to_have_value("http://10.0.0.8/hook")
    expect(page.get_by_label("run.succeeded")).not_to_be_checked()
    expect(page.get_by_label("run.failed")).to_be_checked()
    expect(page.get_by_label("Description")).to_have_value("the ledger")
    listed = authoring.api("GET", f"/v2/webhooks?agent_id={authoring.agent_id}").json()
    assert all(s["url"] != "http://10.0.0.8/hook" for s in listed["items"])


def answer(page: Page, authoring: Authoring) -> None:
    process_id = _published(authoring, "to greet a guest\n  the output text is the guest name\n")
    started = authoring.api(
        "POST",
        "/v2/runs",
        json={"agent_id": authoring.agent_id, "process_id": process_id, "stage": "Published", "name": "g"},
    )
    run_id = started.json()["id"]
    page.goto(f"/ui/runs/{run_id}")
    expect(page.locator("#answer")).to_be_visible(timeout=30_000)  # the run waits for the input
    page.get_by_label("Remember this answer").check()
    page.get_by_role("button", name="Answer", exact=True).click()
    _refused(page, "answer", "Choose or write an answer first.")
    expect(page.get_by_label("Remember this answer")).to_be_checked()
    run = authoring.api("GET", f"/v2/runs/{run_id}").json()
    assert run["state"] == "AwaitingGuidance"
    # The same in the Guidance Center, which comes back with the same question's form refused.
    page.goto("/ui/guidance")
    field = page.locator(f"#a-{run_id}")
    field.fill("   ")
    field.locator("xpath=ancestor::form").get_by_role("button", name="Answer").click()
    _refused(page, f"a-{run_id}", "Choose or write an answer first.")
    expect(page.locator(f"#a-{run_id}")).to_have_value("   ")
    page.goto(f"/ui/runs/{run_id}")
    page.locator("#answer").fill("Ada")
    page.get_by_label("Remember this answer").uncheck()
    page.get_by_role("button", name="Answer", exact=True).click()
    expect(page.locator(".flash")).to_have_text("Answered.")


def sign_in(page: Page, authoring: Authoring) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Name").fill("nobody-here")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    _refused(page, "password", "The name or the password is not right.")
    expect(page.get_by_label("Name")).to_have_value("nobody-here")
    expect(page.get_by_label("Password")).to_have_value("")  # never sent back
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))


FORMS: dict[str, Callable[[Page, Authoring], None]] = {
    "run form": run_form,
    "process settings": process_settings,
    "new process": new_process,
    "exception routing": routing,
    "schedule": schedule,
    "webhook subscription": webhook,
    "answering a question": answer,
    "sign-in": sign_in,
}


@pytest.mark.parametrize("form", list(FORMS))
def test_a_bad_value_comes_back_beside_its_field_as_typed(
    page: Page, authoring: Authoring, form: str
) -> None:
    FORMS[form](page, authoring)
