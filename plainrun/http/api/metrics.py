"""Gauges read from the database at scrape time: runs by state, and the queue depth."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from plainrun.domain.runs import RunState
from plainrun.errors import StoreError
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
