"""The web UI in a real browser (Debian's chromium through Playwright) against a live ``plainrun serve``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, shot, sign_in_with_key, sign_in_with_password, write_process

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

BROKEN = """to price an order
  the total is the amount +
  the output total is the total
"""

PRICE = """to price an order
  the total is the amount + the shipping
  say "the total is {the total}"
  the output total is the total
"""

APPROVE = """to approve a payment
  ask "Approve the payment of {the amount}?"
    the choices are "yes", "no"
  the output decision is the above
"""

BAKE = """to bake
  run to make a pie where
    the flavour is "plum"
  the output pie is the above's pie

to make a pie
  the output pie is "{the flavour} pie"
"""

SHOUT = """to shout loudly
  say "<script>alert('say')</script>"
  the output echo is the message
"""


def create_process(page: Page, site: Site, source: str) -> str:
    page.goto(f"/ui/agents/{site.agent_id}/processes")
    write_process(page, source)
    page.get_by_role("button", name="Create the process").click()
    page.wait_for_url(re.compile(r"/ui/processes/\w+$"))
    return page.url.rsplit("/", 1)[1]


def publish(page: Page) -> None:
    page.get_by_role("button", name="Save and publish").click()
    expect(page.locator(".flash")).to_contain_text("Published version")


def run_with_inputs(page: Page, process_id: str, stage: str, **inputs: str) -> str:
    page.goto(f"/ui/processes/{process_id}/run?stage={stage}")
    for name, value in inputs.items():
        page.locator(f"[data-stage-inputs={stage}]").get_by_label(name, exact=True).fill(value)
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/ui/runs/\w+$"))
    return page.url.rsplit("/", 1)[1]


def select_runs(page: Page, run_ids: list[str]) -> None:
    for run_id in run_ids:
        page.locator(f"input[name=run_ids][value='{run_id}']").check()
    expect(page.locator("[data-selected-count]")).to_have_text(f"{len(run_ids)} selected")


def listed(page: Page) -> set[str]:
    return set(page.locator("input[name=run_ids]").evaluate_all("els => els.map(e => e.value)"))


def test_sign_in_create_publish_run_archive_unarchive_and_test(page: Page, site: Site) -> None:
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    shot(page, "01-sign-in")
    page.get_by_label("Name").fill(site.user)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    sign_in_with_password(page, site)
    expect(page.get_by_text("Signed in as alice")).to_be_visible()
    shot(page, "02-processes")

    # A syntax error is shown on its line, and nothing is created.
    write_process(page, BROKEN)
    page.get_by_role("button", name="Create the process").click()
    expect(page.locator("#syntax-errors")).to_contain_text("Line 2")
    expect(page.locator(".lint-status li")).to_have_attribute("data-line", "2")  # marked as typed, too
    shot(page, "03-syntax-error")

    process_id = create_process(page, site, PRICE)
    expect(page.get_by_role("heading", level=1)).to_have_text("price an order")
    expect(page.locator("#inputs-h + ul")).to_contain_text("amount")
    expect(page.get_by_role("heading", name="E-mail addresses")).to_be_visible()
    publish(page)
    expect(page.locator(".meta")).to_contain_text("published version 1")
    shot(page, "04-process")

    page.goto(f"/ui/processes/{process_id}/run?stage=Published")
    shot(page, "05-run-form")
    first = run_with_inputs(page, process_id, "Published", amount="40", shipping="2")
    # The state changes live, without a reload, up to Succeeded with the output.
    expect(page.locator("#run-state")).to_have_text("Succeeded", timeout=30_000)
    expect(page.locator("#live-announce")).to_have_text("Run state: Succeeded")  # announced to screen readers
    expect(page.locator("#outputs")).to_contain_text("42")
    expect(page.locator(".timeline")).to_contain_text("the total is 42")
    shot(page, "06-run-succeeded")
    second = run_with_inputs(page, process_id, "Published", amount="1", shipping="1")
    expect(page.locator("#run-state")).to_have_text("Succeeded", timeout=30_000)

    page.goto(f"/ui/processes/{process_id}/runs")
    assert {first, second} <= listed(page)
    expect(page.locator("thead th.output")).to_have_text(["total"])
    select_runs(page, [first, second])
    shot(page, "07-runs-selected")
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(page.locator(".flash")).to_have_text("Archived: 2 of 2 run(s).")
    assert not {first, second} & listed(page)

    page.get_by_label("Archived").check()
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"archived=true"))
    assert listed(page) == {first, second}
    shot(page, "08-runs-archived")
    select_runs(page, [first, second])
    page.get_by_role("button", name="Unarchive").click()
    expect(page.locator(".flash")).to_have_text("Unarchived: 2 of 2 run(s).")
    assert listed(page) == set()  # still under the archived filter: none left there
    page.goto(f"/ui/processes/{process_id}/runs")
    assert {first, second} <= listed(page)

    select_runs(page, [first])
    page.get_by_role("button", name="Add Test Case").click()
    expect(page.locator(".flash")).to_have_text("Added as test cases: 1 of 1 run(s).")
    page.goto(f"/ui/processes/{process_id}/tests")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr").first).to_contain_text("total: 42")
    shot(page, "09-test-suite")
    page.get_by_role("button", name="Run tests").click()
    page.wait_for_url(re.compile(r"/ui/test-runs/\w+$"))
    expect(page.locator("#test-run-state")).to_have_text("Finished", timeout=30_000)
    row = page.locator("tr.result-passed")
    expect(row).to_contain_text("total")
    expect(row.locator("td")).to_contain_text(["Passed", "total", "42", "42"])
    shot(page, "10-test-run")

    # Change the draft so the same test case fails against it: expected vs actual, per output.
    page.goto(f"/ui/processes/{process_id}")
    write_process(page, PRICE.replace("the amount + the shipping", "the amount + the shipping + 1"))
    page.get_by_role("button", name="Save the draft").click()
    expect(page.locator(".flash")).to_have_text("Saved the draft (revision 2).")
    page.goto(f"/ui/processes/{process_id}/tests")
    page.get_by_label("Against").select_option("Draft")
    page.get_by_role("button", name="Run tests").click()
    expect(page.locator("#test-run-state")).to_have_text("Finished", timeout=30_000)
    expect(page.locator("tr.result-failed td")).to_contain_text(["Failed", "total", "42", "43", "run"])
    shot(page, "10b-test-run-failed")

    # The API sees what the browser did.
    runs = site.api("GET", f"/v2/runs?process_id={process_id}&agent_id={site.agent_id}&limit=100").json()
    mine = {r["id"]: r for r in runs["items"]}
    assert mine[first]["trigger"] == "manual" and mine[first]["archived"] is False
    assert mine[first]["outputs"] == [{"name": "total", "value": 42}]


def test_a_question_is_answered_in_the_browser(page: Page, site: Site) -> None:
    sign_in_with_key(page, site.key)
    process_id = create_process(page, site, APPROVE)
    # A draft run from the editor fails fast by default, pointing at the line that asked.
    run_with_inputs(page, process_id, "Draft", amount="5")
    expect(page.locator("#run-state")).to_have_text("Failed", timeout=30_000)
    expect(page.locator(".source-line")).to_contain_text("Line 2")
    expect(page.locator(".source-line pre")).to_contain_text('ask "Approve the payment of {the amount}?"')
    shot(page, "11-run-failed")
    page.goto(f"/ui/processes/{process_id}")
    publish(page)
    run_id = run_with_inputs(page, process_id, "Published", amount="120")
    expect(page.locator("#run-state")).to_have_text("AwaitingGuidance", timeout=30_000)
    form = page.locator("form.guidance")
    expect(form.locator("legend")).to_have_text("Approve the payment of 120?")
    expect(page.locator(".source-line")).to_contain_text('ask "Approve the payment of {the amount}?"')
    shot(page, "12-run-question")
    form.get_by_label("no").check()
    form.get_by_role("button", name="Answer").click()
    expect(page.locator("#run-state")).to_have_text("Succeeded", timeout=30_000)
    expect(page.locator("#outputs")).to_contain_text("no")
    expect(page.locator(".timeline")).to_contain_text("guidance")
    shot(page, "13-run-answered")
    run = site.api("GET", f"/v2/runs/{run_id}").json()
    assert run["outputs"] == [{"name": "decision", "value": "no"}]


def test_process_text_and_inputs_are_rendered_inert(page: Page, site: Site, dialogs: list[str]) -> None:
    sign_in_with_key(page, site.key)
    process_id = create_process(page, site, SHOUT)
    expect(page.locator("#source")).to_have_value(SHOUT)  # the text, not markup, in the editor
    evil = "<img src=x onerror=alert(document.cookie)>"
    page.goto(f"/ui/processes/{process_id}/run?stage=Draft")
    page.get_by_label("Run name (optional)").fill("<b>bold</b> run")
    page.get_by_label("message", exact=True).fill(evil)
    page.get_by_label("Files (optional)").set_input_files(
        [{"name": "notes.csv", "mimeType": "text/csv", "buffer": b"a,b\n<i>1</i>,2\n"}]
    )
    page.get_by_role("button", name="Start the run").click()
    expect(page.locator("#run-state")).to_have_text("Succeeded", timeout=30_000)
    with page.expect_download() as download:
        page.get_by_role("link", name="notes.csv").click()
    assert download.value.suggested_filename == "notes.csv"
    assert Path(download.value.path()).read_bytes() == b"a,b\n<i>1</i>,2\n"
    expect(page.get_by_role("heading", level=1)).to_have_text("<b>bold</b> run")
    expect(page.locator("#outputs td")).to_have_text(evil)
    expect(page.locator(".timeline")).to_contain_text("<script>alert('say')</script>")
    shot(page, "14-inert-html-run")
    page.goto(f"/ui/processes/{process_id}/runs")
    expect(page.locator("td.output")).to_have_text(evil)
    shot(page, "15-inert-html-runs")
    for _ in range(2):
        assert page.locator("img[src=x]").count() == 0
        assert page.locator("main b, main script").count() == 0
        page.go_back()
    assert dialogs == []


def test_a_run_links_its_child_runs_and_a_child_its_parent(page: Page, site: Site) -> None:
    sign_in_with_key(page, site.key)
    process_id = create_process(page, site, BAKE)
    parent = run_with_inputs(page, process_id, "Draft")
    expect(page.locator("#run-state")).to_have_text("Succeeded", timeout=30_000)
    expect(page.locator("#outputs")).to_contain_text("plum pie")
    children = page.locator("#children-h + table tbody tr")
    expect(children).to_have_count(1)
    expect(children).to_contain_text("Succeeded")
    shot(page, "17-run-with-child")
    children.get_by_role("link").click()
    expect(page.locator(".meta")).to_contain_text("started by subprocess")
    page.locator(".meta").get_by_role("link", name=parent).click()
    expect(page).to_have_url(re.compile(rf"/ui/runs/{parent}$"))


def test_a_post_without_the_csrf_token_is_refused(page: Page, site: Site) -> None:
    sign_in_with_key(page, site.key)
    process_id = create_process(page, site, PRICE.replace("price an order", "price a refund"))
    url = f"/ui/processes/{process_id}/publish"
    refused = page.request.post(url, form={"csrf_token": "forged"}, max_redirects=0)
    assert refused.status == 403 and "CSRF" in refused.text()
    assert page.request.post(url, max_redirects=0).status == 403
    assert site.api("GET", f"/v2/processes/{process_id}").json()["published_version"] is None
    page.goto(url)  # a GET does not publish either (no such page)
    token = page.locator("main").get_attribute("data-csrf")
    assert token
    accepted = page.request.post(url, headers={"x-csrf-token": token}, max_redirects=0)
    assert accepted.status == 303
    assert site.api("GET", f"/v2/processes/{process_id}").json()["published_version"] == 1


def test_an_agent_cannot_see_another_agents_process(page: Page, site: Site) -> None:
    sign_in_with_key(page, site.key)
    for path in (
        f"/ui/processes/{site.other_process_id}",
        f"/ui/processes/{site.other_process_id}/runs",
        f"/ui/agents/{site.other_agent_id}/processes",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        assert "globex" not in page.content()
    shot(page, "16-not-found")
    # The other agent's own key sees it.
    sign_in_with_key(page, site.other_key)
    page.goto(f"/ui/processes/{site.other_process_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("audit globex secrets")


def test_a_revoked_key_or_a_deleted_user_signs_the_session_out(page: Page, site: Site) -> None:
    key, plaintext = site.services.keys.create(agent_id=site.agent_id, name="short-lived")
    sign_in_with_key(page, plaintext)
    site.services.keys.revoke(key.id)
    page.goto(f"/ui/agents/{site.agent_id}/processes")
    expect(page).to_have_url(re.compile(r"/ui/sign-in\?next="))

    users = site.services.users
    users.create(agent_id=site.agent_id, name="bob", password="bob's password")
    page.get_by_label("Name").fill("bob")
    page.get_by_label("Password").fill("bob's password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/ui/agents/{site.agent_id}/processes$"))
    expect(page.get_by_text("Signed in as bob")).to_be_visible()
    users.delete("bob")
    page.reload()
    expect(page).to_have_url(re.compile(r"/ui/sign-in\?next="))
