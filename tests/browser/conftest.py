"""Browser fixtures: a live ``plainrun serve`` and Debian's chromium driven by Playwright.

All browser tests share one server (started once per module) and one browser; each test gets a
fresh browser context (its own cookies). Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from typer.testing import CliRunner

from plainrun import cli
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings
from tests.acceptance.conftest import LiveServer, start_server, stop_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"


@dataclass
class Site:
    server: LiveServer
    services: Services
    agent_id: str
    key: str
    user: str
    #: Another agent with its own key and a process the first agent must not see.
    other_agent_id: str
    other_key: str
    other_process_id: str

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, method: str, path: str, key: str | None = None, **kwargs: object) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}{path}", headers={"x-api-key": key or self.key}, timeout=30, **kwargs
        )


def create_user(server: LiveServer, agent_id: str, name: str, password: str) -> None:
    """``plainrun users create … --password-stdin``, in this process (the import is already paid)."""
    env = {k: server.env[k] for k in ("PLAINRUN_DATABASE_URL", "PLAINRUN_DATA_DIR")}
    done = CliRunner().invoke(
        cli.app,
        ["users", "create", "--agent", agent_id, "--name", name, "--password-stdin"],
        input=password + "\n",
        env=env,
    )
    assert done.exit_code == 0 and f"user {name} " in done.output, done.output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    server = start_server(tmp_path_factory.mktemp("browser"))
    # The test's own services over the server's database: for what the UI does not do itself.
    services = build_services(
        Settings(
            database_url=server.env["PLAINRUN_DATABASE_URL"], data_dir=Path(server.env["PLAINRUN_DATA_DIR"])
        )
    )
    try:
        agent_id, key = server.demo["AGENT_ID"], server.demo["PLAINRUN_KEY"]
        create_user(server, agent_id, "alice", PASSWORD)
        other = services.store.agents.create("globex").id
        _, other_key = services.keys.create(agent_id=other, name="globex")
        created = httpx.post(
            f"{server.url}/v2/processes",
            headers={"x-api-key": other_key},
            json={"agent_id": other, "source": 'to audit globex secrets\n  the output secret is "s3cret"\n'},
        )
        assert created.status_code == 201, created.text
        yield Site(server, services, agent_id, key, "alice", other, other_key, created.json()["id"])
    finally:
        services.close()
        stop_server(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is not installed at {CHROMIUM} (make test installs it)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def dialogs() -> list[str]:
    """The message of every alert, confirm or prompt a page opened (dismissed at once)."""
    return []


@pytest.fixture
def page(browser: Browser, site: Site, dialogs: list[str]) -> Iterator[Page]:
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Console errors other than a refused request (this suite makes 4xx on purpose), e.g. a
    # Content-Security-Policy violation, fail the test.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield page
    context.close()
    assert errors == [], f"errors in the browser: {errors}"


#: Form controls that no label, aria-label or aria-labelledby names (hidden inputs aside).
UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter(el => el.type !== "hidden")
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                && !el.getAttribute("aria-labelledby"))
  .map(el => el.outerHTML)"""


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the page, after checking that every form control on it has a label."""
    assert page.evaluate(UNLABELLED) == [], f"form controls without a label on {page.url}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in_with_password(page: Page, site: Site) -> None:
    page.goto("/ui/")
    page.get_by_label("Name").fill(site.user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/agents/\w+/processes$"))


def sign_in_with_key(page: Page, key: str) -> None:
    page.goto("/ui/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in with the key").click()
    page.wait_for_url(re.compile(r"/ui/agents/\w+/processes$"))


def write_process(page: Page, text: str) -> None:
    """Replace the text in the process editor (CodeMirror, over the form's textarea)."""
    page.locator(".editor.cm .cm-content").wait_for()
    page.evaluate(
        """text => {
          const view = document.querySelector(".editor.cm").plainrunView;
          view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
        }""",
        text,
    )
