"""What the interpreter and books need from the outside world, and a local implementation.

``Environment`` is the protocol the worker implements against the store; ``LocalEnvironment``
keeps files in a directory and everything else in memory, for ``plainrun exec`` and tests.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from plainrun.domain.outbound import OutboundPolicy
from plainrun.language.errors import BookError
from plainrun.language.values import FileRef

if TYPE_CHECKING:
    from plainrun.language.program import Program


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    sender: str = "plainrun@localhost"
    timeout: float = 30.0


@runtime_checkable
class Environment(Protocol):
    """The outside world of one run."""

    smtp: SmtpSettings
    #: What the HTTP book may reach, and the bounds of its requests.
    outbound: OutboundPolicy

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


@dataclass
class LocalEnvironment:
    """Files in ``directory``; box, log and child runs in memory; children run in-process.

    ``processes`` are the programs a ``run to …``/``invoke to …``/``start a run`` may start: a
    child is found by its process name, then by any procedure phrase of those programs.
    """

    directory: Path
    processes: list[Program] = field(default_factory=list)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))
    box: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    echo: Callable[[str], None] | None = None
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _files: dict[str, tuple[str, str, Path]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    # files
    def add_file(self, name: str, data: bytes, content_type: str | None = None) -> FileRef:
        """Stores ``data`` as a new file and returns its value."""
        return self.write_file(
            name, data, content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        )

    def add_path(self, path: Path) -> FileRef:
        return self.add_file(Path(path).name, Path(path).read_bytes())

    def read_file(self, file_id: str) -> bytes:
        if file_id not in self._files:
            raise BookError(f"there is no file with id {file_id}")
        return self._files[file_id][2].read_bytes()

    def file_info(self, file_id: str) -> tuple[str, int, str]:
        if file_id not in self._files:
            raise BookError(f"there is no file with id {file_id}")
        name, content_type, path = self._files[file_id]
        return name, path.stat().st_size, content_type

    def write_file(self, name: str, data: bytes, content_type: str) -> FileRef:
        file_id = uuid.uuid4().hex
        path = self.directory / file_id
        path.write_bytes(data)
        self._files[file_id] = (name, content_type, path)
        return FileRef(file_id, name, len(data), content_type)

    # box
    def box_get(self, key: str) -> Any:
        return self.box.get(key)

    def box_set(self, key: str, value: Any) -> None:
        self.box[key] = value

    def box_delete(self, key: str) -> None:
        self.box.pop(key, None)

    # log and clock
    def log(self, line: str) -> None:
        self.lines.append(line)
        if self.echo is not None:
            self.echo(line)

    def now(self) -> dt.datetime:
        return self.clock()

    # child runs
    def find_process(self, name: str) -> tuple[Program, str | None]:
        """The program to run for ``name`` and, if it is a helper procedure, that procedure's key."""
        from plainrun.language.names import normalise, process_key

        wanted = process_key(name)
        for program in self.processes:
            if normalise(program.name) == wanted:
                return program, None
        for program in self.processes:
            if (key := program.procedure_called(name)) is not None:
                return program, key
        raise BookError(f'there is no process named "{name}"')

    def start_child(self, process: str, inputs: dict[str, Any]) -> str:
        from plainrun.language.execution import Execution, Failed, Paused

        program, key = self.find_process(process)
        child = Execution.start(program, inputs, [], self, on_exception="fail", entry=key)
        outcome = child.run()
        if isinstance(outcome, Failed | Paused):
            message = outcome.message if isinstance(outcome, Failed) else outcome.question
            raise BookError(f'the child run "{process}" did not succeed: {message}')
        child_id = uuid.uuid4().hex
        self.children[child_id] = outcome.outputs
        return child_id

    def wait_children(self, ids: list[str]) -> list[list[dict[str, Any]]]:
        return [self.children[child_id] for child_id in ids]


def local_environment(directory: Path, programs: Iterable[Program] = (), **options: Any) -> LocalEnvironment:
    return LocalEnvironment(Path(directory), list(programs), **options)
