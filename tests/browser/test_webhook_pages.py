"""The UI's webhook pages over HTTP (no browser): subscribing with the form's CSRF token, the
secret shown once, deliveries with their attempts, deleting; another agent's page is not found."""

from __future__ import annotations

import re

from plainrun.domain.runs import Stage
from plainrun.domain.webhooks import Attempt
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services
from plainrun.services.runs import RunRequest
from tests.browser.test_pages import SOURCE, services, signed_in  # noqa: F401 - the services fixture

PUBLIC = "https://93.184.215.14/hook"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_subscribe_see_deliveries_and_delete_from_the_ui(services: Services) -> None:  # noqa: F811
    agent = services.store.agents.create("acme")
    process = services.processes.create(SYSTEM, agent_id=agent.id, source=SOURCE)
    client = signed_in(services, agent.id)
    page = client.get(f"/ui/agents/{agent.id}/webhooks")
    assert page.status_code == 200 and "No subscriptions yet" in page.text
    form = {"url": PUBLIC, "events": ["run.succeeded", "run.cancelled"], "description": "<b>ops</b>"}
    assert client.post(f"/ui/agents/{agent.id}/webhooks", data=form).status_code == 403  # no CSRF token
    token = CSRF.search(page.text)
    assert token
    made = client.post(f"/ui/agents/{agent.id}/webhooks", data={**form, "csrf_token": token[1]})
    assert made.status_code == 200 and "whsec_" in made.text
    [subscription] = services.webhooks.page(SYSTEM, agent.id).items
    assert subscription.events == ("run.succeeded", "run.cancelled")
    assert subscription.secret in made.text
    assert "whsec_" not in client.get(f"/ui/webhooks/{subscription.id}").text  # shown once
    listing = client.get(f"/ui/agents/{agent.id}/webhooks").text
    assert PUBLIC in listing and "&lt;b&gt;ops&lt;/b&gt;" in listing

    run = services.runs.start(
        SYSTEM,
        RunRequest(
            agent_id=agent.id, process_id=process.id, stage=Stage.DRAFT, name="r", inputs={"a": 1, "b": 2}
        ),
    )
    services.runs.cancel(SYSTEM, run.id)
    [(delivery, sub)] = services.webhooks.claim(limit=1, lease_s=60)
    failed = Attempt(
        at=delivery.created_at, status_code=502, response="bad gateway", duration_ms=12, error=None
    )
    services.store.webhooks.record(delivery, failed, retry_at=delivery.created_at)
    shown = client.get(f"/ui/webhooks/{subscription.id}").text
    assert "run.cancelled" in shown and run.id in shown and "502" in shown and "bad gateway" in shown

    other = services.store.agents.create("other")
    assert signed_in(services, other.id).get(f"/ui/webhooks/{subscription.id}").status_code == 404
    token = CSRF.search(shown)
    assert token
    deleted = client.post(f"/ui/webhooks/{subscription.id}/delete", data={"csrf_token": token[1]})
    assert deleted.status_code == 200 and "No subscriptions yet" in deleted.text
    assert sub.id == subscription.id
