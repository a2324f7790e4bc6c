"""Books: Python procedures called from processes by an English phrase.

A book is a module (or package) whose functions carry ``@procedure("to uppercase a (text)")``.
The parenthesised nouns are the function's parameters (``vendor name`` -> ``vendor_name``); facts
of a ``where``/``with`` block arrive as keyword arguments; a parameter annotated ``Environment``
receives the run's environment. Arguments are checked against the type hints before the call.

Books are found through the ``plainrun.books`` entry-point group: each entry point names a module
whose import defines its procedures, so installing a package adds its procedures.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.metadata
import inspect
import logging
import sys
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from plainrun.language import nodes as n
from plainrun.language.environment import Environment
from plainrun.language.errors import BookDefinitionError, BookError
from plainrun.language.names import python_name
from plainrun.language.phrases import PhraseError, read_phrase
from plainrun.language.procedures import Known
from plainrun.language.tokens import LexError, tokenize
from plainrun.language.values import (
    NOT_FOUND,
    FileRef,
    Money,
    from_outside,
    parse_number,
    to_text,
    type_name,
)

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "plainrun.books"
BUILTIN_MODULE = "plainrun.books"
_MARK = "__plainrun_procedure__"

F = TypeVar("F", bound=Callable[..., Any])


def procedure(phrase: str) -> Callable[[F], F]:
    """Marks a function as a book procedure called by ``phrase`` (``to uppercase a (text)``)."""

    def mark(function: F) -> F:
        setattr(function, _MARK, phrase)
        return function

    return mark


class BookProcedure:
    """One registered procedure, ready to be called with checked arguments."""

    def __init__(self, text: str, function: Callable[..., Any]):
        self.text = text
        self.function = function
        try:
            kind, phrase = read_phrase(tokenize(text))
        except (PhraseError, LexError) as err:
            raise BookDefinitionError(f"{function.__qualname__}: bad phrase {text!r}: {err}") from None
        if kind != "to":
            raise BookDefinitionError(f'{function.__qualname__}: a book phrase starts with "to": {text!r}')
        self.phrase: n.Phrase = phrase
        signature = inspect.signature(function)
        try:
            hints = typing.get_type_hints(function)
        except Exception as err:  # a hint that does not resolve is the book's bug
            raise BookDefinitionError(f"{function.__qualname__}: unresolvable type hints ({err})") from None
        self.hints = hints
        self.env_param = next((p for p, h in hints.items() if h is Environment), None)
        self.params = [python_name(slot) for slot in phrase.params]
        self.accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        self.keywords = {p for p in signature.parameters if p not in self.params and p != self.env_param}
        for name in self.params:
            if name not in signature.parameters:
                raise BookDefinitionError(
                    f"{function.__qualname__}: the phrase names ({name.replace('_', ' ')}) but the function "
                    f"has no parameter {name!r}"
                )

    @property
    def key(self) -> str:
        return self.phrase.key

    def call(self, args: Sequence[Any], where: dict[str, Any], env: Environment) -> Any:
        """Calls the function; raises BookError for a bad argument or a failure inside."""
        kwargs: dict[str, Any] = {}
        for name, value in zip(self.params, args, strict=True):
            kwargs[name] = self.check(name, value)
        for name, value in where.items():
            key = python_name(name)
            if key not in self.keywords and not self.accepts_kwargs:
                known = ", ".join(sorted(k.replace("_", " ") for k in self.keywords)) or "none"
                raise BookError(f'"{self.text}" has no fact named "{name}" (it knows: {known})')
            kwargs[key] = self.check(key, value)
        if self.env_param:
            kwargs[self.env_param] = env
        try:
            result = self.function(**kwargs)
        except BookError:
            raise
        except Exception as err:
            raise BookError(f"{self.text.removeprefix('to ')}: {err}") from err
        return NOT_FOUND if result is None else from_outside(result)

    def check(self, name: str, value: Any) -> Any:
        hint = self.hints.get(name, Any)
        ok, converted = convert_argument(value, hint)
        if not ok:
            raise BookError(
                f"needs {describe(hint)} for ({name.replace('_', ' ')}), "
                f"but got {type_name(value)}: {to_text(value)[:60]!r}"
            )
        return converted


def describe(hint: Any) -> str:
    names = {
        str: "text",
        int: "a whole number",
        float: "a number",
        Decimal: "a number",
        bool: "yes or no",
        dt.date: "a date",
        dt.datetime: "a date-time",
        list: "a list",
        dict: "a record",
        FileRef: "a file",
    }
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(h) for h in typing.get_args(hint) if h is not type(None))
    return names.get(origin or hint, getattr(hint, "__name__", str(hint)))


def convert_argument(value: Any, hint: Any) -> tuple[bool, Any]:
    """(True, the value as the hint wants it) or (False, None)."""
    if hint is Any or hint is object:
        return True, value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            ok, converted = convert_argument(value, option)
            if ok:
                return True, converted
        return False, None
    if hint is type(None):
        return (value is None or value is NOT_FOUND), None
    base = origin or hint
    if base is str:
        if isinstance(value, str):
            return True, value
        if isinstance(value, int | Decimal | Money | dt.date | bool):
            return True, to_text(value)
        return False, None
    if base is bool:
        return (True, value) if isinstance(value, bool) else (False, None)
    if base in (int, float, Decimal):
        number = value
        if isinstance(value, str):
            number = parse_number(value)
        if isinstance(number, Money):
            number = number.amount
        if isinstance(number, bool) or not isinstance(number, int | Decimal | float):
            return False, None
        if base is int:
            return (True, int(number)) if number == int(number) else (False, None)
        return True, base(number)
    if base is dt.datetime:
        if isinstance(value, dt.datetime):
            return True, value
        return False, None
    if base is dt.date:
        if isinstance(value, dt.date):
            return True, value
        if isinstance(value, str):
            try:
                return True, dt.date.fromisoformat(value.strip())
            except ValueError:
                return False, None
        return False, None
    if base in (list, Sequence, Iterable):
        return (True, value) if isinstance(value, list) else (False, None)
    if base is dict:
        return (True, value) if isinstance(value, dict) else (False, None)
    if isinstance(base, type):
        return (True, value) if isinstance(value, base) else (False, None)
    return True, value


class Library:
    """The book procedures available to processes, by phrase."""

    def __init__(self, procedures: Iterable[BookProcedure] = ()):
        self.procedures: dict[str, BookProcedure] = {}
        for proc in procedures:
            if proc.key in self.procedures and self.procedures[proc.key].function is not proc.function:
                logger.warning("book procedure %r is defined twice; keeping the first", proc.text)
                continue
            self.procedures[proc.key] = proc

    @classmethod
    def from_modules(cls, modules: Iterable[types.ModuleType]) -> Library:
        return cls(proc for module in modules for proc in _procedures_in(module))

    @classmethod
    def from_functions(cls, functions: Iterable[Callable[..., Any]]) -> Library:
        return cls(BookProcedure(getattr(f, _MARK), f) for f in functions)

    def get(self, key: str) -> BookProcedure | None:
        return self.procedures.get(key)

    def known(self) -> list[Known]:
        return [Known("to", proc.phrase, "book") for proc in self.procedures.values()]

    def phrases(self) -> list[str]:
        return [proc.text for proc in self.procedures.values()]


def _procedures_in(module: types.ModuleType) -> list[BookProcedure]:
    """The marked functions of ``module`` and of its already imported submodules."""
    prefix = module.__name__ + "."
    modules = [module, *(m for name, m in sorted(sys.modules.items()) if name.startswith(prefix) and m)]
    found: list[BookProcedure] = []
    seen: set[int] = set()
    for mod in modules:
        for value in vars(mod).values():
            if callable(value) and hasattr(value, _MARK) and id(value) not in seen:
                seen.add(id(value))
                found.append(BookProcedure(getattr(value, _MARK), value))
    return found


def discover(entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> Library:
    """A library of every book: the built-in ones and each ``plainrun.books`` entry point."""
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    modules = [importlib.import_module(BUILTIN_MODULE)]
    for entry_point in entry_points:
        try:
            loaded = entry_point.load()
        except Exception as err:
            logger.warning("book %s could not be loaded: %s", entry_point.name, err)
            continue
        if isinstance(loaded, types.ModuleType) and loaded not in modules:
            modules.append(loaded)
    return Library.from_modules(modules)


@lru_cache(maxsize=1)
def default_library() -> Library:
    """Every installed book, found once per process."""
    return discover()
