"""A statement with ``IN`` lists is rendered by SQLAlchemy once per length of each list, and each
call's values are put where that rendering says: the SQL and the parameters are the very ones
SQLAlchemy renders for the call itself, on both dialects. With a database's JSON codec, a JSON
value is sent and read back as SQLAlchemy's own processors do it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from plainrun.domain import storable
from plainrun.store import schema as t
from plainrun.store.fast import JsonCodec, Plan
from plainrun.store.sql._part import param, params_in

r = t.runs.c
#: Two lists (one of datetimes, whose processor turns them into the driver's values) and a scalar.
_STATEMENT = sa.select(r.id).where(
    r.id.in_(params_in(r.id, "ids")),
    r.created_at.in_(params_in(r.created_at, "ats")),
    r.state == param(r.state),
)
_AT = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
_CODEC: JsonCodec = (storable.dumps_text, storable.loads)


def _rendered(plan: Plan, params: dict[str, Any]) -> tuple[str, Any]:
    """What SQLAlchemy itself renders for one call."""
    return plan._render_expanded(params)


@pytest.mark.parametrize(
    "dialect", [sqlite.dialect(), postgresql.psycopg.dialect()], ids=["sqlite", "postgresql"]
)
def test_each_length_is_rendered_once_and_every_call_binds_as_sqlalchemy_would(dialect: Dialect) -> None:
    plan = Plan(_STATEMENT, dialect)
    calls = [
        {"ids": ["a"], "ats": [_AT], "state": "Running"},
        {"ids": ["b"], "ats": [_AT + timedelta(seconds=1)], "state": "Pending"},
        {"ids": ["c", "d", "e"], "ats": [_AT, _AT - timedelta(days=1)], "state": "Failed"},
        {"ids": ["f", "g", "h"], "ats": [_AT, _AT + timedelta(hours=5)], "state": "Running"},
        {"ids": [], "ats": [_AT], "state": "Running"},
    ]
    for params in calls:
        assert plan.bind(params) == _rendered(plan, params)
    # Three shapes among five calls, by the lists' names in order ("ats", "ids").
    assert sorted(plan._expanded) == [(1, 0), (1, 1), (2, 3)]
    sql, values = plan.bind(calls[2])
    assert sql.count("?" if plan.positional else "%(") == 6
    given = list(values) if plan.positional else list(values.values())
    assert {"c", "d", "e", "Failed"} <= set(given)


def test_a_call_that_is_not_of_lists_is_answered_as_sqlalchemy_answers_it() -> None:
    plan = Plan(_STATEMENT, sqlite.dialect())
    with pytest.raises(Exception) as cached:
        plan.bind({"ids": ["a"], "state": "Running"})  # "ats" missing
    with pytest.raises(Exception) as direct:
        _rendered(plan, {"ids": ["a"], "state": "Running"})
    assert type(cached.value) is type(direct.value)
    # A set is not indexable: rendered per call, the same values.
    params = {"ids": {"x"}, "ats": (_AT,), "state": "Running"}
    assert plan.bind(params) == _rendered(plan, params)


_JSON_VALUES = [
    None,
    [],
    {},
    [{"name": "total", "value": 12.5}],
    {"nested": {"deep": [1, "two", None, True, 3.25]}},
    "text with ünïcode and \u2028",
    10**40,  # beyond 64 bits: the standard library's JSON, exactly
    -0.0,
]


@pytest.mark.parametrize("value", _JSON_VALUES, ids=repr)
def test_a_json_value_goes_through_the_codec_as_sqlalchemys_processor_would_send_it(value: Any) -> None:
    dialect = sqlite.dialect(json_serializer=storable.dumps_text, json_deserializer=storable.loads)
    statement = (
        sa.update(t.runs).values(outputs=param(r.outputs)).where(r.id == param(r.id)).returning(r.outputs)
    )
    general, coded = Plan(statement, dialect), Plan(statement, dialect, json_codec=_CODEC)
    params = {"outputs": value, "id": "x"}
    assert coded.bind(params) == general.bind(params)
    (text,) = general.bind(params)[1][:1]
    description = [("outputs", None, None, None, None, None, None)]
    assert coded.decode([(text,)], description) == general.decode([(text,)], description)
    assert coded._decoder(coded.columns[0], None) is storable.loads  # the shortcut is taken
