"""The store's speed device: its SQLAlchemy statements run on the driver's own cursor.

Starting, claiming and finishing runs happen for every run, many times a second. Through
SQLAlchemy's ``Connection`` each statement costs more CPU than the database spends on it (the
connection and result machinery, not the SQL). ``DriverTx`` runs the very same statement objects
the operations are written with: each is compiled once per dialect by SQLAlchemy's own compiler
(the ``Plan``, cached for as long as the statement object lives), its parameters are converted by
the bound columns' own type processors and its rows by the result columns' own, exactly as
SQLAlchemy would. So there is no second copy of any statement, and rows written either way read
the same either way (the contract tests run every operation through both executors). One
shortcut: given the database's JSON codec (``Plans(json_codec=…)``, SQLite's), a JSON value goes
through the codec itself, where SQLAlchemy's JSON processor wraps the same codec in a check for
its NULL sentinels, which the store never binds (two calls fewer for each of some 15 JSON values a
run).

Switched off with ``PLAINRUN_FAST=false``: the stores then run everything through ``CoreTx``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from plainrun.store.database import Database
from plainrun.store.tx import Params, Result, Tx

Processor = Callable[[Any], Any] | None
#: A database's JSON codec: a value to the text the database keeps, and that text back.
JsonCodec = tuple[Callable[[Any], Any], Callable[[Any], Any]]
_REQUIRED = object()


class Plan:
    """One statement compiled for one dialect: its SQL, how each parameter goes in, each column out."""

    def __init__(
        self,
        statement: Executable,
        dialect: Dialect,
        column_keys: Sequence[str] | None = None,
        json_codec: JsonCodec | None = None,
    ):
        assert isinstance(statement, sa.sql.ClauseElement)
        # An INSERT without values() writes the columns its parameters name, as SQLAlchemy's does.
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        assert isinstance(compiled, SQLCompiler)
        self.compiled = compiled
        self.sql = compiled.string
        self.positional = compiled.positional
        #: Statements with expanding (``IN``) parameters are rendered per number of values in each
        #: (``_expanded``), those with values written into the SQL (``literal_execute``) per call.
        self.expanding = bool(compiled.post_compile_params or compiled.literal_execute_params)
        self._expanding_names = (
            None
            if compiled.literal_execute_params
            else sorted(compiled.bind_names[bind] for bind in compiled.post_compile_params)
        )
        self._expanded: dict[tuple[int, ...], _Expanded | None] = {}
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        names = list(compiled.positiontup or ()) if self.positional else list(by_name)
        self.slots: list[tuple[str, Processor, Any, Callable[[], Any] | None]] = []
        for name in names:
            bind = by_name[name]
            if isinstance(bind.type, sa.types.NullType):
                raise TypeError(f"the parameter {name!r} of a store statement has no type: {self.sql}")
            impl = bind.type.dialect_impl(dialect)
            if json_codec is not None and isinstance(impl, sa.JSON) and not impl.none_as_null:
                processor: Processor = json_codec[0]
            else:
                processor = impl.bind_processor(dialect)
            default = _REQUIRED if bind.required else bind.value
            self.slots.append((name, processor, default, bind.callable))
        self.names = [slot[0] for slot in self.slots]
        self.dialect = dialect
        self.json_codec = json_codec
        self.columns = list(getattr(statement, "exported_columns", ()))
        self.keys = [str(column.key) for column in self.columns]
        #: Made at the first result (a processor may depend on the type the driver reports): the
        #: positions of the columns that have one, with it.
        self.decoders: list[tuple[int, Callable[[Any], Any]]] | None = None

    def bind(self, params: Params | None) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
        """The SQL and the driver's parameters for one call."""
        if self.expanding:
            return self._bind_expanded(params or {})
        values = []
        for name, processor, default, call in self.slots:
            if params is not None and name in params:
                value = params[name]
            elif call is not None:
                value = call()
            elif default is _REQUIRED:
                raise KeyError(f"the store statement needs the parameter {name!r}")
            else:
                value = default
            values.append(value if processor is None else processor(value))
        if self.positional:
            return self.sql, tuple(values)
        return self.sql, dict(zip(self.names, values, strict=True))

    def _bind_expanded(self, params: Params) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
        names = self._expanding_names
        if names is not None:
            try:
                shape = tuple(len(params[name]) for name in names)
                expanded = self._expanded[shape] if shape in self._expanded else self._expand(params, shape)
                if expanded is not None:
                    return expanded.bind(params)
            except (KeyError, TypeError, IndexError):
                pass  # a parameter missing or not a list: SQLAlchemy's own rendering says so
        return self._render_expanded(params)

    def _expand(self, params: Params, shape: tuple[int, ...]) -> _Expanded | None:
        """The statement rendered once for lists of these lengths, by SQLAlchemy with stand-ins
        for the values: where each value of a call goes. None when a value it renders is not one
        of the call's (a default): such statements are rendered per call."""
        expanding = set(self._expanding_names or ())
        probes = {
            name: [_Probe(name, i) for i in range(len(value))] if name in expanding else _Probe(name, None)
            for name, value in params.items()
        }
        state = self.compiled.construct_expanded_state(probes)
        processors = state.processors or {}
        order = list(state.positiontup or ()) if self.positional else list(state.parameters)
        slots: list[tuple[str, str, int | None, Processor]] = []
        for out in order:
            probe = state.parameters[out]
            if not isinstance(probe, _Probe):
                self._expanded[shape] = None
                return None
            slots.append((out, probe.name, probe.index, processors.get(out)))
        expanded = self._expanded[shape] = _Expanded(state.statement, self.positional, slots)
        return expanded

    def _render_expanded(self, params: Params) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
        state = self.compiled.construct_expanded_state(dict(params))
        processors = state.processors or {}
        values = {
            name: processors[name](value) if name in processors else value
            for name, value in state.parameters.items()
        }
        if self.positional:
            return state.statement, tuple(values[name] for name in state.positiontup or ())
        return state.statement, values

    def decode(self, rows: Sequence[Sequence[Any]], description: Sequence[Any]) -> list[Sequence[Any]]:
        decoders = self.decoders
        if decoders is None:
            found = [
                self._decoder(column, described[1])
                for column, described in zip(self.columns, description, strict=True)
            ]
            decoders = self.decoders = [(i, d) for i, d in enumerate(found) if d is not None]
        if not decoders:
            return list(rows)
        out: list[Sequence[Any]] = []
        for row in rows:
            values = list(row)
            for i, decoder in decoders:
                if values[i] is not None:
                    values[i] = decoder(values[i])
            out.append(values)
        return out

    def _decoder(self, column: Any, coltype: Any) -> Callable[[Any], Any] | None:
        """How a result column's values come out (never called for NULL, see :meth:`decode`)."""
        impl = column.type.dialect_impl(self.dialect)
        if self.json_codec is not None and isinstance(impl, sa.JSON):
            return self.json_codec[1]
        decoder: Callable[[Any], Any] | None = impl.result_processor(self.dialect, coltype)
        return decoder


class _Probe:
    """A stand-in for one value of a call while a statement with ``IN`` lists is rendered."""

    __slots__ = ("index", "name")

    def __init__(self, name: str, index: int | None):
        self.name = name
        self.index = index


class _Expanded:
    """A statement with ``IN`` lists rendered for one length of each: its SQL, and for each of its
    parameters the call's value it takes (a parameter, or one item of a list) and its processor."""

    def __init__(self, sql: str, positional: bool, slots: list[tuple[str, str, int | None, Processor]]):
        self.sql = sql
        self.positional = positional
        self.slots = slots

    def bind(self, params: Params) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
        values = []
        for _, name, index, processor in self.slots:
            value = params[name] if index is None else params[name][index]
            values.append(value if processor is None else processor(value))
        if self.positional:
            return self.sql, tuple(values)
        return self.sql, {slot[0]: value for slot, value in zip(self.slots, values, strict=True)}


class Plans:
    """The plans of one dialect, kept as long as their statements live (module-level statements
    are compiled once; a statement built for one call is compiled for that call). An INSERT has a
    plan per set of columns given, and per number of rows when its rows go in one statement."""

    def __init__(self, dialect: Dialect, json_codec: JsonCodec | None = None):
        self.dialect = dialect
        self.json_codec = json_codec
        self._plans: weakref.WeakKeyDictionary[Executable, dict[tuple[Any, ...], Plan]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, statement: Executable, params: Params | None) -> Plan:
        keys = tuple(params) if params is not None and isinstance(statement, sa.Insert) else ()
        plans = self._plans.get(statement)
        if plans is None:
            plans = self._plans[statement] = {}
        plan = plans.get(keys)
        if plan is None:
            plan = plans[keys] = Plan(statement, self.dialect, keys, self.json_codec)
        return plan

    def get_rows(self, statement: sa.Insert, keys: tuple[str, ...], n: int) -> Plan:
        """The plan of ``statement`` inserting ``n`` rows of the columns ``keys`` in one statement
        (``VALUES (…), (…)``), the parameters of row ``i`` named ``<key>__<i>``."""
        plans = self._plans.get(statement)
        if plans is None:
            plans = self._plans[statement] = {}
        plan = plans.get(("rows", n, *keys))
        if plan is None:
            table = statement.table
            assert isinstance(table, sa.Table)
            rows = [{k: sa.bindparam(f"{k}__{i}", type_=table.c[k].type) for k in keys} for i in range(n)]
            plan = plans[("rows", n, *keys)] = Plan(
                statement.values(rows), self.dialect, None, self.json_codec
            )
        return plan


#: Parameters per multi-row INSERT at most (PostgreSQL allows 65,535; fewer keep plans small).
ROWS_PARAMS = 1000


class DriverTx(Tx):
    """Statements on a driver cursor (sqlite3 or psycopg), inside the caller's transaction."""

    def __init__(
        self,
        database: Database,
        cursor: Any,
        plans: Plans,
        *,
        one_statement_inserts: bool = False,
        pipeline: Any = None,
    ):
        super().__init__(database)
        self.cursor = cursor
        self.plans = plans
        #: psycopg's ``executemany`` goes through its pipeline: a Bind and an Execute per row. With
        #: this, the rows of an INSERT go in one statement instead (``VALUES (…), (…)``). One row
        #: is the plain statement on every driver (``executemany`` costs a third more for it).
        self.one_statement_inserts = one_statement_inserts
        #: psycopg's pipeline the transaction runs in, if any: a statement whose result is not read
        #: (:meth:`send`, the rows of :meth:`execute_many`) is queued, and goes to the server with
        #: the next statement whose result is read, or with the COMMIT (one round trip for them all).
        self.pipeline = pipeline

    def execute(self, statement: Executable, params: Params | None = None) -> Result:
        plan = self.plans.get(statement, params)
        sql, args = plan.bind(params)
        cursor = self.cursor
        cursor.execute(sql, args)
        if not plan.keys:
            if self.pipeline is not None:
                self.pipeline.sync()  # its row count, with whatever was queued before it
            return Result([], [], cursor.rowcount)
        rows = plan.decode(cursor.fetchall(), cursor.description)
        return Result(plan.keys, rows, len(rows))

    def send(self, statement: Executable, params: Params | None = None) -> None:
        sql, args = self.plans.get(statement, params).bind(params)
        self.cursor.execute(sql, args)

    def execute_many(self, statement: Executable, rows: Sequence[Params]) -> None:
        if not rows:
            return
        plan = self.plans.get(statement, rows[0])
        if len(rows) == 1:  # the plain statement: the driver's executemany costs a third more
            self.cursor.execute(*plan.bind(rows[0]))
            return
        if self.one_statement_inserts and isinstance(statement, sa.Insert):
            keys = tuple(rows[0])
            if all(tuple(row) == keys for row in rows):
                self._insert_rows(statement, keys, rows)
                return
        bound = [plan.bind(r) for r in rows]
        self.cursor.executemany(bound[0][0], [args for _, args in bound])

    def _insert_rows(self, statement: sa.Insert, keys: tuple[str, ...], rows: Sequence[Params]) -> None:
        size = max(1, ROWS_PARAMS // max(1, len(keys)))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            plan = self.plans.get_rows(statement, keys, len(chunk))
            named = {f"{k}__{i}": row[k] for i, row in enumerate(chunk) for k in keys}
            sql, args = plan.bind(named)
            self.cursor.execute(sql, args)
