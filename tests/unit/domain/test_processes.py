"""Process settings: only the known ones, each within its bounds; a run's timeout from them."""

from __future__ import annotations

import math

import pytest

from plainrun.domain.processes import (
    DEFAULT_SETTINGS,
    MAX_CONCURRENCY,
    MAX_TIMEOUT_S,
    check_settings,
    run_timeout,
)
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


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -math.inf, 1e308, 2**64])
def test_a_timeout_that_is_not_a_finite_number_is_refused(timeout: float) -> None:
    with pytest.raises(InvalidInput, match="timeout_s"):
        check_settings({"timeout_s": timeout})


def test_a_timeout_is_at_most_the_installations_longest() -> None:
    assert check_settings({"timeout_s": MAX_TIMEOUT_S}) == {"timeout_s": MAX_TIMEOUT_S}
    with pytest.raises(InvalidInput, match="at most 86400") as caught:
        check_settings({"timeout_s": MAX_TIMEOUT_S + 1})
    assert caught.value.details == [("timeout_s", "86401.0")]
    assert check_settings({"timeout_s": 60}, max_timeout_s=60) == {"timeout_s": 60}
    with pytest.raises(InvalidInput, match="at most 60 "):
        check_settings({"timeout_s": 61}, max_timeout_s=60)


def test_a_runs_timeout_is_its_processes_else_the_services_default() -> None:
    assert run_timeout({"timeout_s": 12}, 300.0) == 12.0
    assert isinstance(run_timeout({"timeout_s": 12}, 300.0), float)
    assert run_timeout({"timeout_s": None}, 300.0) == 300.0
    assert run_timeout({}, 45.5) == 45.5
