"""Webhooks' rules: the signature of the Standard Webhooks specification, the events, the retries."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from standardwebhooks import Webhook

from plainrun.domain.runs import RunState
from plainrun.domain.webhooks import SECRET_PREFIX, Retry, body, event_of, excerpt, new_secret

# The specification's own test vector (standard-webhooks, spec/standard-webhooks.md).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signing_gives_the_specification_s_test_vector() -> None:
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)
    assert Webhook(SPEC_SECRET).sign(SPEC_ID, at, SPEC_BODY) == SPEC_SIGNATURE


def test_a_new_secret_is_whsec_and_32_bytes_of_base64() -> None:
    secret = new_secret()
    assert secret.startswith(SECRET_PREFIX)
    assert len(base64.b64decode(secret.removeprefix(SECRET_PREFIX))) == 32
    assert new_secret() != secret


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (RunState.SUCCEEDED, "run.succeeded"),
        (RunState.FAILED, "run.failed"),
        (RunState.AWAITING_GUIDANCE, "run.waiting_for_guidance"),
        (RunState.CANCELLED, "run.cancelled"),
        (RunState.TIMED_OUT, "run.timed_out"),
        (RunState.RUNNING, None),
        (RunState.PENDING, None),
        (RunState.WAITING, None),
    ],
)
def test_only_ends_and_questions_are_told(state: RunState, event: str | None) -> None:
    assert event_of(state.value) == event
    assert event_of(None) is None


def test_the_body_names_the_run_and_its_state_in_the_specification_s_shape() -> None:
    at = datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=UTC)
    run = {"id": "r", "agent_id": "a", "process_id": "p", "name": "n", "stage": "Published", "attempt": 1}
    sent = orjson.loads(body("run.timed_out", at, {**run, "state": "TimedOut"}))
    assert sent == {
        "type": "run.timed_out",
        "timestamp": "2026-12-01T09:30:00.123Z",
        "data": {
            **{k: v for k, v in run.items() if k != "id"},
            "run_id": "r",
            "state": "TimedOut",
            "status": "Stopped",
        },
    }


def test_retries_double_up_to_the_cap_and_stop_after_the_day() -> None:
    retry = Retry(first_s=5, max_s=3600, for_s=24 * 3600)
    assert [retry.delay(n).total_seconds() for n in (1, 2, 3, 4, 12, 13, 100)] == [
        5, 10, 20, 40, 3600, 3600, 3600
    ]  # fmt: skip
    created = datetime(2026, 12, 1, tzinfo=UTC)
    assert retry.next_at(created, 1, created) == created + timedelta(seconds=5)
    late = created + timedelta(hours=23, minutes=30)
    assert retry.next_at(created, 30, late) is None  # an hour later would be past the day


def test_an_excerpt_is_bounded_text() -> None:
    assert excerpt("é".encode() * 5000) == "é" * 1000
    assert excerpt(b"\xff ok") == "\ufffd ok"
