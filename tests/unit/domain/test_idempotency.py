"""What identifies a keyed request, and which keys are taken."""

from __future__ import annotations

import pytest

from plainrun.domain.idempotency import MAX_KEY, check_key, fingerprint
from plainrun.errors import InvalidInput


def test_the_same_request_has_one_fingerprint_whatever_its_keys_order() -> None:
    a = fingerprint("start", {"name": "x", "inputs": {"b": 2, "a": 2**70}})
    assert a == fingerprint("start", {"inputs": {"a": 2**70, "b": 2}, "name": "x"})
    assert a != fingerprint("start", {"name": "x", "inputs": {"b": 2, "a": 2**70 + 1}})
    assert a != fingerprint("rerun", {"name": "x", "inputs": {"b": 2, "a": 2**70}})


@pytest.mark.parametrize("key", ["", "k" * (MAX_KEY + 1), "clé", "a\tb"])
def test_keys_are_printable_ascii_of_bounded_length(key: str) -> None:
    with pytest.raises(InvalidInput, match="Idempotency-Key"):
        check_key(key)
    assert check_key("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d") == "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
