"""Finding a process's inputs in its source: the facts it reads but never defines.

A phrase with two readings that the file does not settle (``the first name``: the fact, or the
first of ``the names``) is listed as the whole name, unless the file reads the list elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from plainrun.language import nodes as n
from plainrun.language.grammar import PROVIDED
from plainrun.language.names import variants


def exprs_of(stmt: n.Stmt) -> Iterator[n.Expr]:
    """The expressions a statement evaluates (not those of the statements in its block)."""
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
    elif isinstance(stmt, n.Retrieve):
        yield from stmt.names


def _children_of(stmt: n.Stmt) -> Sequence[n.Stmt]:
    if isinstance(stmt, n.If):
        return (*stmt.body, *stmt.orelse)
    if isinstance(stmt, n.ForEach):
        return stmt.body
    return ()


def _undecided(expr: n.Ordinal | n.Aggregate) -> bool:
    """Whether the run's facts settle which reading ``expr`` has (``the first name``)."""
    return not (isinstance(expr, n.Ordinal) and expr.explicit)


def reads(expr: n.Expr) -> Iterator[n.FactRef]:
    """The facts an expression reads; a phrase with two readings yields both."""
    if isinstance(expr, n.FactRef):
        yield expr
        return
    if isinstance(expr, n.Ordinal | n.Aggregate) and expr.alias is not None and _undecided(expr):
        yield n.FactRef(expr.line, expr.column, expr.alias, expr.alias)
    for name in getattr(expr, "__slots__", ()):
        child = getattr(expr, name)
        if isinstance(child, n.Expr):
            yield from reads(child)
        elif isinstance(child, tuple):
            for item in child:
                if isinstance(item, n.Expr):
                    yield from reads(item)
                elif isinstance(item, n.Define):
                    yield from reads(item.value)


def statement_reads(stmt: n.Stmt) -> Iterator[n.FactRef]:
    for expr in exprs_of(stmt):
        yield from reads(expr)


def walk(body: Sequence[n.Stmt]) -> Iterator[n.Stmt]:
    for stmt in body:
        yield stmt
        yield from walk(_children_of(stmt))


def defined_names(body: Sequence[n.Stmt], *, loops: bool = True) -> set[str]:
    """The facts a body defines (``loops``: with the items of its ``process each`` loops)."""
    names: set[str] = set()
    kinds = (n.UseAs, n.Imagine, n.Get, n.ForEach) if loops else (n.UseAs, n.Imagine, n.Get)
    for stmt in walk(body):
        if isinstance(stmt, n.Define | n.SetFact) and isinstance(stmt.target, n.FactRef):
            names.add(stmt.target.name)
        elif isinstance(stmt, kinds) and stmt.name is not None:
            names.add(stmt.name.name)
    return names


def _known(name: str, defined: set[str], spelled: set[str]) -> bool:
    """Whether ``name`` is provided or defined; ``spelled``: the definitions that its singular or
    plural also reads (not a loop's item: ``process each item`` reads ``the items``)."""
    return name in defined or any(v in PROVIDED or v in spelled for v in (name, *variants(name)))


def _settled(expr: n.Expr, plain: set[str]) -> Iterator[n.FactRef]:
    """The facts read, with each two-reading phrase settled to one name (see the module)."""
    if isinstance(expr, n.Ordinal | n.Aggregate) and expr.alias is not None and _undecided(expr):
        operand = expr.source if isinstance(expr, n.Ordinal) else expr.operand
        if isinstance(operand, n.FactRef) and operand.name not in plain:
            yield n.FactRef(expr.line, expr.column, expr.alias, expr.alias)
            return
    if isinstance(expr, n.FactRef):
        yield expr
        return
    for name in getattr(expr, "__slots__", ()):
        child = getattr(expr, name)
        items = child if isinstance(child, tuple) else (child,)
        for item in items:
            if isinstance(item, n.Expr):
                yield from _settled(item, plain)
            elif isinstance(item, n.Define):
                yield from _settled(item.value, plain)


def _plain_reads(procedures: Sequence[n.Procedure]) -> set[str]:
    """Names read as plain facts anywhere (not as one reading of a two-reading phrase)."""
    plain: set[str] = set()
    for procedure in procedures:
        for stmt in walk(procedure.body):
            for expr in exprs_of(stmt):
                plain.update(ref.name for ref in _settled(expr, set()))
    return plain


def discover_inputs(procedures: Sequence[n.Procedure]) -> list[str]:
    """Input fact names, in the order of first use: the process first, then its helpers."""
    if not procedures:
        return []
    process_defined = defined_names(procedures[0].body)
    spelled = defined_names(procedures[0].body, loops=False)
    plain = _plain_reads(procedures)
    found: list[str] = []
    seen: set[str] = set()
    for index, procedure in enumerate(procedures):
        defined = set(process_defined)
        if index:
            defined |= defined_names(procedure.body) | set(procedure.phrase.params)
        for stmt in walk(procedure.body):
            for expr in exprs_of(stmt):
                for ref in _settled(expr, plain):
                    if not _known(ref.name, defined, spelled) and ref.name not in seen:
                        seen.add(ref.name)
                        found.append(ref.name)
    return found
