"""Gauges read from the database at scrape time (runs by state, the queue depth), and the key that
/metrics asks for."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from plainrun.domain.runs import RunState
from plainrun.errors import StoreError, Unauthenticated
from plainrun.http.api.errors import error_response
from plainrun.services.container import Services


class StoreCollector(Collector):
    def __init__(self, services: Services):
        self.services = services

    def collect(self) -> Iterator[Metric]:
        try:
            counts = self.services.runs.count_by_state()
        except StoreError:
            return
        by_state = GaugeMetricFamily("plainrun_runs", "Runs by state", labels=["state"])
        for state in RunState:
            by_state.add_metric([state.value], counts.get(state.value, 0))
        yield by_state
        yield GaugeMetricFamily(
            "plainrun_queue_depth", "Runs waiting for a worker", value=counts.get(RunState.PENDING.value, 0)
        )


class MetricsGuard:
    """/metrics behind an installation-wide API key (``x-api-key`` or ``Authorization: Bearer``),
    when the settings say so (``metrics_need_key``: by default whenever the service listens beyond
    loopback), because its counts cover every agent. A missing or unknown key is a 401, a key scoped
    to one agent a 403, both as the ErrorModel."""

    def __init__(self, app: ASGIApp, services: Services):
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await asyncio.to_thread(self._refusal, Headers(scope=scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, headers: Headers) -> Response | None:
        given = headers.get("x-api-key")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if given is None and scheme.lower() == "bearer":
            given = token.strip()
        try:
            principal = self.services.keys.authenticate(given)
        except Unauthenticated as exc:
            return error_response(401, exc.message)
        if principal.agent_id is not None:
            return error_response(403, "The metrics need an installation-wide API key.")
        return None
