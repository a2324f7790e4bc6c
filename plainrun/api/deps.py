"""Request dependencies: the services and the caller's principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from plainrun.services.access import Principal
from plainrun.services.container import Services

api_key_header = APIKeyHeader(name="x-api-key", auto_error=False)


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def get_principal(
    request: Request, api_key: Annotated[str | None, Security(api_key_header)] = None
) -> Principal:
    return get_services(request).keys.authenticate(api_key)


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
