"""Finding a process's inputs in its source: the facts it reads but never defines."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from plainrun.language import nodes as n
from plainrun.language.names import variants

# Facts that the engine provides or that are not facts at all.
PROVIDED = frozenset({"above", "result", "results", "runs", "file", "files", "email"})


def _exprs_of(stmt: n.Stmt) -> Iterator[n.Expr]:
    if isinstance(stmt, n.Define | n.SetFact):
        if isinstance(stmt.target, n.Field):
            yield stmt.target.target
        yield stmt.value
    elif isinstance(stmt, n.UseAs | n.Say | n.Get):
        yield stmt.value
    elif isinstance(stmt, n.Change):
        yield stmt.value
        yield stmt.target
    elif isinstance(stmt, n.Convert):
        yield stmt.target
    elif isinstance(stmt, n.If | n.Check):
        yield stmt.condition
    elif isinstance(stmt, n.ForEach):
        yield stmt.source
    elif isinstance(stmt, n.Ask):
        yield stmt.question
        yield from stmt.choices
    elif isinstance(stmt, n.Validate):
        yield from (check.condition for check in stmt.checks)
    elif isinstance(stmt, n.Call):
        yield stmt.call
    elif isinstance(stmt, n.RunChild | n.StartRun):
        yield from (define.value for define in stmt.where)


def _children_of(stmt: n.Stmt) -> Sequence[n.Stmt]:
    if isinstance(stmt, n.If):
        return (*stmt.body, *stmt.orelse)
    if isinstance(stmt, n.ForEach):
        return stmt.body
    return ()


def _reads(expr: n.Expr) -> Iterator[n.FactRef]:
    if isinstance(expr, n.FactRef):
        yield expr
        return
    for name in getattr(expr, "__slots__", ()):
        child = getattr(expr, name)
        if isinstance(child, n.Expr):
            yield from _reads(child)
        elif isinstance(child, tuple):
            for item in child:
                if isinstance(item, n.Expr):
                    yield from _reads(item)
                elif isinstance(item, n.Define):
                    yield from _reads(item.value)


def walk(body: Sequence[n.Stmt]) -> Iterator[n.Stmt]:
    for stmt in body:
        yield stmt
        yield from walk(_children_of(stmt))


def defined_names(body: Sequence[n.Stmt]) -> set[str]:
    names: set[str] = set()
    for stmt in walk(body):
        if isinstance(stmt, n.Define | n.SetFact) and isinstance(stmt.target, n.FactRef):
            names.add(stmt.target.name)
        elif isinstance(stmt, (n.UseAs | n.Imagine, n.ForEach)):
            names.add(stmt.name.name)
    return names


def _known(name: str, defined: set[str]) -> bool:
    return name in PROVIDED or name in defined or any(v in PROVIDED for v in variants(name))


def discover_inputs(procedures: Sequence[n.Procedure]) -> list[str]:
    """Input fact names, in the order of first use: the process first, then its helpers."""
    if not procedures:
        return []
    process_defined = defined_names(procedures[0].body)
    found: list[str] = []
    seen: set[str] = set()
    for index, procedure in enumerate(procedures):
        defined = set(process_defined)
        if index:
            defined |= defined_names(procedure.body) | set(procedure.phrase.params)
        for stmt in walk(procedure.body):
            for expr in _exprs_of(stmt):
                for ref in _reads(expr):
                    if not _known(ref.name, defined) and ref.name not in seen:
                        seen.add(ref.name)
                        found.append(ref.name)
    return found
