"""Process settings: only the known ones, each within its bounds; a run's timeout from them."""

from __future__ import annotations

import math

import pytest

from plainrun.domain.processes import DEFAULT_SETTINGS, MAX_CONCURRENCY, check_settings, run_timeout
from plainrun.errors import InvalidInput


def test_known_settings_within_their_bounds_are_taken_as_given() -> None:
    for settings in (
        {},
        dict(DEFAULT_SETTINGS),
        {"on_exception": "fail", "timeout_s": 0.5, "max_concurrency": 1},
        {"on_exception": "pause", "timeout_s": 3600, "max_concurrency": MAX_CONCURRENCY},
    ):
        assert check_settings(settings) == settings


def test_unknown_settings_are_refused_and_named() -> None:
    with pytest.raises(InvalidInput, match="Unknown") as caught:
        check_settings({"timeout_s": 5, "retries": 3, "colour": "red"})
    assert caught.value.details == [("settings", "colour, retries")]


@pytest.mark.parametrize(
    "settings",
    [
        {"on_exception": "stop"},
        {"on_exception": ""},
        {"timeout_s": 0},
        {"timeout_s": -1.5},
        {"timeout_s": True},
        {"timeout_s": "60"},
        {"max_concurrency": 0},
        {"max_concurrency": MAX_CONCURRENCY + 1},
        {"max_concurrency": 2.0},
        {"max_concurrency": True},
        {"max_concurrency": "2"},
    ],
)
def test_a_setting_out_of_its_bounds_is_refused(settings: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match=next(iter(settings))):
        check_settings(settings)


@pytest.mark.xfail(
    strict=True,
    reason="check_settings accepts NaN and infinite timeouts; the store keeps them as null, so the "
    "process silently gets the service's default timeout",
)
@pytest.mark.parametrize("timeout", [math.nan, math.inf])
def test_a_timeout_that_is_not_a_finite_number_is_refused(timeout: float) -> None:
    with pytest.raises(InvalidInput, match="timeout_s"):
        check_settings({"timeout_s": timeout})


def test_a_runs_timeout_is_its_processes_else_the_services_default() -> None:
    assert run_timeout({"timeout_s": 12}, 300.0) == 12.0
    assert isinstance(run_timeout({"timeout_s": 12}, 300.0), float)
    assert run_timeout({"timeout_s": None}, 300.0) == 300.0
    assert run_timeout({}, 45.5) == 45.5
