"""What the interpreter and books need from the outside world.

``Environment`` is the protocol the worker implements against the store;
``plainrun.language.local.LocalEnvironment`` implements it on one machine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from plainrun.language.values import FileRef

if TYPE_CHECKING:
    from plainrun.domain.outbound import OutboundPolicy


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    sender: str = "plainrun@localhost"
    timeout: float = 30.0
    #: How many processes' mail the e-mail that started the run had passed through (0: a run not
    #: started by e-mail); the mail the run sends says one more.
    hops: int = 0


@runtime_checkable
class Environment(Protocol):
    """The outside world of one run."""

    @property
    def smtp(self) -> SmtpSettings: ...

    #: What the HTTP book may reach, and the bounds of its requests.
    @property
    def outbound(self) -> OutboundPolicy: ...

    def read_file(self, file_id: str) -> bytes: ...

    def file_info(self, file_id: str) -> tuple[str, int, str]: ...

    def write_file(self, name: str, data: bytes, content_type: str) -> FileRef: ...

    def box_get(self, key: str) -> Any: ...

    def box_set(self, key: str, value: Any) -> None: ...

    def box_delete(self, key: str) -> None: ...

    def log(self, line: str) -> None: ...

    def now(self) -> dt.datetime: ...

    def start_child(self, process: str, inputs: dict[str, Any]) -> str: ...

    def wait_children(self, ids: list[str]) -> list[list[dict[str, Any]]]: ...
