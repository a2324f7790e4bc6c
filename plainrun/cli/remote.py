"""A remote service as the target of the everyday commands: ``--url``/``--key``, ``PLAINRUN_URL``
and ``PLAINRUN_KEY``, or the profile ``plainrun login`` writes; and ``plainrun login``/``logout``.

Each of URL and key is taken from the first of: the option, the environment, the profile. With no
URL anywhere, the commands work on the database (``PLAINRUN_DATABASE_URL``).
"""

from __future__ import annotations

import contextvars
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from plainrun.cli._common import console, fail
from plainrun.client import Client, ClientError
from plainrun.settings import RemoteSettings


@dataclass(frozen=True)
class Target:
    url: str
    key: str | None


@dataclass(frozen=True)
class Options:
    url: str | None = None
    key: str | None = None


#: The --url and --key of this invocation (set by the root command's callback).
given_options: contextvars.ContextVar[Options | None] = contextvars.ContextVar("given_options", default=None)


def profile_path(settings: RemoteSettings) -> Path:
    return settings.profile or Path(typer.get_app_dir("plainrun")) / "profile.json"


def _profile(path: Path) -> dict[str, str]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, dict) else {}


def target() -> Target | None:
    """The remote service the everyday commands go to, or None for the database."""
    options = given_options.get() or Options()
    settings = RemoteSettings()
    profile = _profile(profile_path(settings))
    env_key = settings.key.get_secret_value() if settings.key else None
    url = options.url or settings.url or profile.get("url")
    if not url:
        return None
    return Target(url=url, key=options.key or env_key or profile.get("key"))


def register(app: typer.Typer) -> None:
    @app.callback()
    def root(
        url: Annotated[
            str | None,
            typer.Option("--url", help="A plainrun service's URL: the everyday commands go through its API"),
        ] = None,
        key: Annotated[str | None, typer.Option("--key", help="The API key for --url")] = None,
    ) -> None:
        """Run business processes written in plain English."""
        given_options.set(Options(url=url, key=key))

    @app.command()
    def login(
        url: Annotated[str, typer.Option("--url", prompt=True, help="The service's URL")],
        key: Annotated[str, typer.Option("--key", prompt=True, hide_input=True, help="An API key")],
    ) -> None:
        """Check a service's URL and key and keep them in your profile: the everyday commands then
        go to that service (PLAINRUN_URL and PLAINRUN_KEY, or --url and --key, still win)."""
        try:
            with Client(url, key) as client:
                agents = client.list_agents()
        except ClientError as exc:
            fail(exc)
        path = profile_path(RemoteSettings())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"url": url.rstrip("/"), "key": key}, out)
        names = ", ".join(f"{a.name} ({a.id})" for a in agents) or "none"
        console.print(f"logged in to {url}; the key sees agents: {names}", highlight=False)
        console.print(f"profile written to {path}", highlight=False)

    @app.command()
    def logout() -> None:
        """Forget the profile ``plainrun login`` wrote: the commands work on the database again."""
        path = profile_path(RemoteSettings())
        path.unlink(missing_ok=True)
        console.print(f"removed {path}", highlight=False)
