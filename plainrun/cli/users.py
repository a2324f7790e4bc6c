"""``plainrun users create|list|delete``: people who sign in to the web UI."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from plainrun.cli._common import console, services
from plainrun.cli.output import JsonOption, QuietOption, print_ids, print_json, print_table
from plainrun.http.api.render import ts

app = typer.Typer(help="Users of the web UI: create, list, delete.", no_args_is_help=True)


@app.command("create")
def create(
    agent: Annotated[str, typer.Option(help="The agent whose processes and runs the user sees")],
    name: Annotated[str, typer.Option(help="The name the user signs in with")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin")
    ] = False,
    email: Annotated[
        str | None, typer.Option(help="Where questions assigned to the user are sent by e-mail")
    ] = None,
) -> None:
    """Create a user; the password is prompted for (twice), or read from stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with services() as s:
        user = s.users.create(agent_id=agent, name=name, password=password, email=email)
    console.print(f"user {user.name} ({user.id}) of agent {user.agent_id}", highlight=False)


@app.command("list")
def list_users(
    agent: Annotated[str | None, typer.Option(help="Only this agent's users")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """List users (never their passwords)."""
    with services() as s:
        rows = s.users.all(agent)
    if as_json:
        items = [
            {"id": u.id, "name": u.name, "agent_id": u.agent_id, "created_at": ts(u.created_at)} for u in rows
        ]
        print_json({"items": items, "continuation_token": None})
    elif quiet:
        print_ids(u.id for u in rows)
    else:
        print_table(
            ["id", "name", "agent", "created"], [[u.id, u.name, u.agent_id, ts(u.created_at)] for u in rows]
        )


@app.command("delete")
def delete(user: Annotated[str, typer.Argument(help="The user's name or id")]) -> None:
    """Delete a user; their sessions end with their next request."""
    with services() as s:
        gone = s.users.delete(user)
    console.print(f"deleted {gone.name}", highlight=False)


@app.command("unlock")
def unlock(name: Annotated[str, typer.Argument(help="The user's name")]) -> None:
    """End a user's sign-in lock (after too many failed sign-ins) and forget their failures."""
    with services() as s:
        had = s.users.unlock(name)
    console.print(f"unlocked {name}" if had else f"{name} had no failed sign-ins", highlight=False)
