"""Prometheus metrics of the engine (exposed at /metrics by ``plainrun serve`` and the worker)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RUNS_FINISHED = Counter("plainrun_runs_finished_total", "Attempts finished by this process", ["state"])
RECOVERED = Counter("plainrun_runs_recovered_total", "Runs recovered from lost workers", ["state"])
# "livesum": in multiprocess mode (the worker child of ``plainrun serve``), the sum over live workers.
INFLIGHT = Gauge("plainrun_runs_inflight", "Runs in flight in this worker", multiprocess_mode="livesum")
CLAIM_LATENCY = Histogram(
    "plainrun_claim_latency_seconds",
    "From a run's creation to its claim by a worker",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RUN_DURATION = Histogram(
    "plainrun_run_duration_seconds",
    "From claim to recorded outcome",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300),
)
