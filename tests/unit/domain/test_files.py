"""Files: content types as they can be kept and sent back in a header."""

from __future__ import annotations

import pytest

from plainrun.domain.files import DEFAULT_CONTENT_TYPE, clean_content_type


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("application/pdf", "application/pdf"),
        (" Text/CSV ", "text/csv"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None),
        ('text/plain; charset="ütf-8"', "text/plain"),  # parameters that are not ASCII are dropped
        ("text/plain; a=b\r\nX-Injected: 1", "text/plain"),
        ("application/x-für", DEFAULT_CONTENT_TYPE),
        ("\uff54\uff45\uff58\uff54/plain", DEFAULT_CONTENT_TYPE),  # full-width letters
        ("İmage/png", DEFAULT_CONTENT_TYPE),
        ("text/", DEFAULT_CONTENT_TYPE),
        ("text", DEFAULT_CONTENT_TYPE),
        ("", DEFAULT_CONTENT_TYPE),
        ("text/plain/extra", DEFAULT_CONTENT_TYPE),
        ("a" * 128 + "/b", DEFAULT_CONTENT_TYPE),
        ("text/plain; " + "p" * 300, "text/plain"),
    ],
)
def test_a_content_type_is_kept_only_as_rfc_6838_allows(given: str, kept: str | None) -> None:
    cleaned = clean_content_type(given)
    assert cleaned == (kept or given)
    assert cleaned.isascii() and cleaned.isprintable() and len(cleaned) <= 255
    assert clean_content_type(cleaned) == cleaned
