"""``plainrun migrate``, ``plainrun keys …``, ``plainrun agents …``."""

from __future__ import annotations

from typing import Annotated

import typer

from plainrun.cli._common import console, fail, services
from plainrun.cli.output import JsonOption, QuietOption, print_ids, print_json, print_table
from plainrun.errors import PlainrunError
from plainrun.http.api import render
from plainrun.http.api.render import ts
from plainrun.services.access import SYSTEM
from plainrun.services.container import blob_place, store_for
from plainrun.services.installation import InstallationService
from plainrun.settings import Settings
from plainrun.store.blobs import open_blobs

keys = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
agents = typer.Typer(help="Agents: the owners of processes, runs and files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate(
        adopt_settings: Annotated[
            bool,
            typer.Option(
                "--adopt-settings",
                help="Record this host's shared settings (file storage, secret, mail domain) for every host",
            ),
        ] = False,
    ) -> None:
        """Create or upgrade the database schema to the newest revision."""
        settings = Settings()
        store = store_for(settings)
        try:
            store.create_schema()
            installation = InstallationService(store, settings, open_blobs(blob_place(settings), store))
            if adopt_settings:
                installation.adopt_settings()
            console.print(f"database at revision {store.revision()}")
            installation.check_agreement()
        except PlainrunError as exc:
            fail(exc)
        finally:
            store.dispose()


@keys.command("create")
def keys_create(
    agent: Annotated[
        str | None, typer.Option(help="Scope the key to this agent id (default: the installation)")
    ] = None,
    name: Annotated[str, typer.Option(help="A label for the key")] = "default",
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    with services() as s:
        key, plaintext = s.keys.create(agent_id=agent, name=name)
    console.print(f"key id {key.id} scope {key.agent_id or 'installation'}", highlight=False)
    typer.echo(plaintext)


@keys.command("list")
def keys_list(as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """List API keys (never their secrets)."""
    with services() as s:
        rows = s.keys.all()
    if as_json:
        print_json({"items": [render.api_key(k) for k in rows], "continuation_token": None})
    elif quiet:
        print_ids(k.id for k in rows)
    else:
        print_table(
            ["id", "prefix", "scope", "name", "created", "revoked"],
            [
                [
                    k.id,
                    k.prefix + "…",
                    k.agent_id or "installation",
                    k.name,
                    ts(k.created_at),
                    ts(k.revoked_at),
                ]
                for k in rows
            ],
        )


@keys.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key."""
    with services() as s:
        s.keys.revoke(key_id)
    console.print(f"revoked {key_id}")


@agents.command("create")
def agents_create(name: str) -> None:
    """Create an agent and print its id."""
    with services() as s:
        agent = s.agents.create(SYSTEM, name)
    typer.echo(agent.id)


@agents.command("list")
def agents_list(as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """Every agent (--json: as GET /v2/agents lists them)."""
    with services() as s:
        rows = s.agents.visible(SYSTEM)
    if as_json:
        print_json({"items": [render.agent(a) for a in rows], "continuation_token": None})
    elif quiet:
        print_ids(a.id for a in rows)
    else:
        print_table(["id", "name", "created"], [[a.id, a.name, ts(a.created_at)] for a in rows])
