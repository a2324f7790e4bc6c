"""What a call is made of: the HTTP :class:`Request` and the reader of its answer, the
:class:`Call` every call of :mod:`plainrun.client.calls` is, the :class:`Listing` read a page at a
time, and the :class:`Sleep` a flow waits with."""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar, cast

import httpx
from pydantic import TypeAdapter

from plainrun.client import errors
from plainrun.client.models import BulkResult, ErrorModel, Page, Resource

T = TypeVar("T")
R = TypeVar("R", bound=Resource)


@dataclass(frozen=True)
class Request(Generic[T]):
    """One HTTP request and the reader of its answer."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Multipart fields and files, or raw content (uploads).
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    content: bytes | None = None
    #: Sending it twice does what sending it once does, so it may be retried.
    retry: bool = False
    #: Carries the API key (an upload URL is authorised by its own fields).
    auth: bool = True


@dataclass(frozen=True)
class Sleep:
    seconds: float


Steps = Generator["Call[Any] | Sleep", Any, T]


class Call(Generic[T]):
    """A call of the API with its arguments; its result is a ``T``."""

    def request(self) -> Request[T]:
        """The one request of the call (a flow has none: it is made of other calls)."""
        raise NotImplementedError(f"{type(self).__name__} is a flow of other calls")

    def steps(self) -> Steps[T]:
        """The calls it takes, in order, each receiving its result: by default itself alone."""
        result: T = yield self
        return result


@dataclass(frozen=True, kw_only=True)
class Listing(Call[Page[R]], Generic[R]):
    """A list, read a page at a time; ``continuation_token`` asks for the page after one."""

    continuation_token: str | None = None

    def after(self, page: Page[R]) -> Listing[R] | None:
        """The call of the page after ``page``, or None when it was the last."""
        if not page.continuation_token:
            return None
        return replace(self, continuation_token=page.continuation_token)


def read_result(kind: type[Call[T]], value: Any) -> T:
    """``value``, a call's result in the API's JSON shapes, read as the call's result (as the
    call's request reads the service's answer)."""
    return _result_adapter(cast(Any, kind)).validate_python(value)  # type: ignore[no-any-return]


@functools.cache
def _result_adapter(kind: type[Call[Any]]) -> TypeAdapter[Any]:
    return TypeAdapter(_result_type(kind))


def _result_type(kind: type[Call[Any]]) -> Any:
    """The ``T`` of a call class that is a ``Call[T]`` (a ``Listing[R]``'s is ``Page[R]``)."""
    for klass in kind.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            origin, args = typing.get_origin(base), typing.get_args(base)
            if origin is Listing:
                return Page[args[0]]  # type: ignore[valid-type]
            if origin is Call:
                return args[0]
    raise TypeError(f"{kind.__name__} is not a Call[T]")


def model(kind: type[T]) -> Callable[[httpx.Response], T]:
    """The reader of an answer that is one ``kind``."""
    return _validator(cast(Any, kind))


def items(kind: type[T]) -> Callable[[httpx.Response], list[T]]:
    """The reader of an answer that is a page of ``kind`` (its items)."""
    return _validator(Page[kind], items=True)  # type: ignore[valid-type]


@functools.cache
def _validator(kind: Any, items: bool = False) -> Callable[[httpx.Response], Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    if items:
        return lambda response: adapter.validate_json(response.content).items or []
    return lambda response: adapter.validate_json(response.content)


def nothing(response: httpx.Response) -> None:
    return None


def results(response: httpx.Response) -> list[BulkResult]:
    return _BULK.validate_json(response.content)["results"]


_BULK = TypeAdapter(dict[str, list[BulkResult]])


def error_of(response: httpx.Response) -> errors.ApiError:
    """The exception of an error response, holding its ErrorModel."""
    try:
        error = ErrorModel.model_validate_json(response.content)
    except ValueError:
        reason = response.reason_phrase or "error"
        error = ErrorModel(status_code=response.status_code, message=f"HTTP {response.status_code} {reason}")
    return errors.for_status(response.status_code)(error)
