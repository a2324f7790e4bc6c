"""Books: Python procedures called from processes by an English phrase.

A book is a module (or package) whose functions carry ``@procedure("to uppercase a (text)")``.
The parenthesised nouns are the function's parameters (``vendor name`` -> ``vendor_name``); facts
of a ``where``/``with`` block arrive as keyword arguments (``the attachment is …`` reaches a
parameter ``attachments`` too); a parameter annotated ``Environment`` receives the run's
environment, one annotated ``FieldName`` a field name as written. Arguments are checked against
the type hints before the call.

A book speaks to the person running the process by raising an exception with a message (a
``BookError``, or any exception its own code raises). An exception that comes out of Python or a
library instead is reported as the procedure failing with its arguments, never with Python's text.

Books are found through the ``plainrun.books`` entry-point group, the built-in ones included: each
entry point names a module whose import defines its procedures, so installing a package adds them.
"""

from __future__ import annotations

import inspect
import logging
import sys
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from opcode import opmap
from typing import Any, Protocol, TypeVar

from plainrun.language import nodes as n
from plainrun.language.arguments import FieldName, convert_argument, describe
from plainrun.language.entrypoints import entry_points as installed_entry_points
from plainrun.language.environment import Environment
from plainrun.language.errors import BookDefinitionError, BookError, LanguageError
from plainrun.language.names import python_name, variants
from plainrun.language.phrases import PhraseError, read_phrase, with_literal_slots
from plainrun.language.procedures import Known
from plainrun.language.tokens import LexError, tokenize
from plainrun.language.values import NOT_FOUND, from_outside, to_text, type_name

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "plainrun.books"
_MARK = "__plainrun_procedure__"
_RAISE = opmap["RAISE_VARARGS"]

F = TypeVar("F", bound=Callable[..., Any])


def procedure(phrase: str) -> Callable[[F], F]:
    """Marks a function as a book procedure called by ``phrase`` (``to uppercase a (text)``).

    Stacked, the marks give one function several phrases (``… descending``, ``… in descending
    order``), each with the same parameters.
    """

    def mark(function: F) -> F:
        setattr(function, _MARK, (phrase, *getattr(function, _MARK, ())))
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
        literal = {slot for slot in phrase.params if hints.get(python_name(slot)) is FieldName}
        self.phrase = with_literal_slots(phrase, literal)
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
            key = self.keyword(name)
            if key != python_name(name) and _is_list(self.hints.get(key)):
                value = value if isinstance(value, list) else [value]  # the attachment is …
            kwargs[key] = self.check(key, value)
        if self.env_param:
            kwargs[self.env_param] = env
        try:
            result = self.function(**kwargs)
        except LanguageError:
            raise
        except Exception as err:
            raise BookError(self.failure(err, kwargs)) from err
        return NOT_FOUND if result is None else from_outside(result)

    def keyword(self, name: str) -> str:
        """The parameter that the fact ``name`` of a where block fills (singular or plural)."""
        key = python_name(name)
        if key in self.keywords or self.accepts_kwargs:
            return key
        for other in variants(name.lower()):
            if python_name(other) in self.keywords:
                return python_name(other)
        known = ", ".join(sorted(k.replace("_", " ") for k in self.keywords)) or "none"
        raise BookError(f'"{self.text}" has no fact named "{name}" (it knows: {known})')

    def check(self, name: str, value: Any) -> Any:
        hint = self.hints.get(name, Any)
        ok, converted = convert_argument(value, hint)
        if not ok:
            raise BookError(
                f"needs {describe(hint)} for ({name.replace('_', ' ')}), "
                f'but got {type_name(value)}: "{to_text(value)[:60]}"'
            )
        return converted

    def failure(self, err: Exception, kwargs: dict[str, Any]) -> str:
        """What to tell a person about ``err``: the book's own message when its code raised it on
        purpose; otherwise that the procedure failed, with the arguments it was given."""
        if _raised_by(err, self.function.__module__):
            return str(err)
        shown = ", ".join(
            f'({key.replace("_", " ")}) "{to_text(value)[:40]}"'
            for key, value in kwargs.items()
            if key != self.env_param
        )
        return "it could not be done" + (f" with {shown}" if shown else "")


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
        return cls(BookProcedure(phrase, f) for f in functions for phrase in getattr(f, _MARK))

    def get(self, key: str) -> BookProcedure | None:
        return self.procedures.get(key)

    def known(self) -> list[Known]:
        return [
            Known("to", proc.phrase, "book", proc.text.removeprefix("to "))
            for proc in self.procedures.values()
        ]

    def phrases(self) -> list[str]:
        return [proc.text for proc in self.procedures.values()]


def _is_list(hint: Any) -> bool:
    return hint is list or typing.get_origin(hint) is list


def _raised_by(err: BaseException, module: str) -> bool:
    """Whether a ``raise`` statement in the book's own package raised ``err`` (not Python's or a
    library's code, whose messages are written for programmers)."""
    tb = err.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    package = module.rpartition(".")[0] or module
    where = str(tb.tb_frame.f_globals.get("__name__", ""))
    if where != module and not where.startswith(package + "."):
        return False
    code = tb.tb_frame.f_code.co_code
    return 0 <= tb.tb_lasti < len(code) and code[tb.tb_lasti] == _RAISE


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
                found.extend(BookProcedure(phrase, value) for phrase in getattr(value, _MARK))
    return found


class Loadable(Protocol):
    """An entry point: ``plainrun.language.entrypoints.EntryPoint`` or ``importlib.metadata``'s."""

    @property
    def name(self) -> str: ...

    def load(self) -> Any: ...


def discover(entry_points: Iterable[Loadable] | None = None) -> Library:
    """A library of every book: each ``plainrun.books`` entry point, the built-in books included."""
    if entry_points is None:
        entry_points = installed_entry_points(ENTRY_POINT_GROUP)
    modules: list[types.ModuleType] = []
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
