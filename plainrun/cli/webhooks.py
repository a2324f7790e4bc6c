"""``plainrun webhooks …``: subscriptions to run events, and their deliveries.

Mount with ``webhooks.register(app)``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from plainrun.cli._common import console, services
from plainrun.domain.webhooks import EVENTS, Subscription
from plainrun.http.api import render
from plainrun.services.access import SYSTEM

app = typer.Typer(help="Webhooks: run events POSTed to a URL, signed.", no_args_is_help=True)


def _show(s: Subscription) -> None:
    scope = f"process {s.process_id}" if s.process_id else "every process"
    console.print(f"webhook {s.id}  {s.url}  agent {s.agent_id}  {scope}", highlight=False)
    console.print(f"  events {', '.join(s.events)}", highlight=False)
    if s.description:
        console.print(f"  {s.description}", highlight=False)


@app.command("create")
def create(
    url: str,
    agent: Annotated[str | None, typer.Option(help="The agent's id (or give --process)")] = None,
    process: Annotated[str | None, typer.Option(help="Only this process's runs")] = None,
    event: Annotated[
        list[str] | None, typer.Option("--event", "-e", help=f"Repeatable; default all: {', '.join(EVENTS)}")
    ] = None,
    description: Annotated[str, typer.Option(help="What the subscription is for")] = "",
) -> None:
    """Subscribe URL to run events; prints the signing secret, shown this once."""
    if agent is None and process is None:
        raise typer.BadParameter("give --agent or --process")
    with services() as s:
        agent_id = agent or s.processes.get(SYSTEM, str(process)).agent_id
        subscription = s.webhooks.create(
            SYSTEM, agent_id=agent_id, url=url, events=event, process_id=process, description=description
        )
    _show(subscription)
    console.print(f"  secret {subscription.secret}  (shown this once)", highlight=False)


@app.command("list")
def list_(
    agent: str,
    process: Annotated[str | None, typer.Option(help="Only this process's subscriptions")] = None,
) -> None:
    """An agent's subscriptions, newest first."""
    with services() as s:
        items, token = [], None
        while True:
            page = s.webhooks.page(SYSTEM, agent, process_id=process, limit=100, continuation_token=token)
            items += page.items
            token = page.continuation_token
            if token is None:
                break
    table = Table("url", "process", "events", "created (UTC)")
    table.add_column("id", no_wrap=True)
    for item in items:
        table.add_row(
            item.url, item.process_id or "every", ", ".join(item.events), render.ts(item.created_at), item.id
        )
    console.print(table)


@app.command("show")
def show(subscription_id: str) -> None:
    """A subscription (its secret is not shown again)."""
    with services() as s:
        subscription = s.webhooks.get(SYSTEM, subscription_id)
    _show(subscription)


@app.command("delete")
def delete(subscription_id: str) -> None:
    """Delete a subscription and its deliveries: nothing more is sent to it."""
    with services() as s:
        s.webhooks.delete(SYSTEM, subscription_id)
    console.print(f"deleted {subscription_id}", highlight=False)


@app.command("deliveries")
def deliveries(
    subscription_id: str,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many, newest first")] = 20,
) -> None:
    """A subscription's latest deliveries, each with its attempts."""
    with services() as s:
        page = s.webhooks.deliveries(SYSTEM, subscription_id, limit=limit)
    table = Table("event", "run", "state", "attempts", "last status", "created (UTC)")
    table.add_column("id", no_wrap=True)
    for delivery, attempts in page.items:
        last = attempts[-1] if attempts else None
        status = str(last.status_code) if last and last.status_code else (last.error or "") if last else ""
        table.add_row(
            delivery.event,
            delivery.run_id,
            delivery.state.value,
            str(len(attempts)),
            status,
            render.ts(delivery.created_at),
            delivery.id,
        )
    console.print(table)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="webhooks")
