"""Request dependencies: the services and the caller's principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from plainrun.services.access import Principal
from plainrun.services.container import Services

api_key_header = APIKeyHeader(name="x-api-key", auto_error=False)


# Both are async on purpose: a sync dependency costs a trip through the thread pool. The key check
# is an in-memory lookup (a database read only when a key is not cached yet).
async def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def get_principal(
    request: Request, api_key: Annotated[str | None, Security(api_key_header)] = None
) -> Principal:
    services: Services = request.app.state.services
    return services.keys.authenticate(api_key)


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
