"""An environment on one machine, for ``plainrun exec`` and tests: files in a directory, the rest in
memory, child runs run in this process."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plainrun.language.environment import SmtpSettings
from plainrun.language.errors import BookError
from plainrun.language.execution import Execution
from plainrun.language.names import normalise, process_key
from plainrun.language.outcome import Failed, Paused, Succeeded
from plainrun.language.program import Program
from plainrun.language.values import FileRef

if TYPE_CHECKING:
    from plainrun.domain.outbound import OutboundPolicy


def _guess_type(name: str) -> str:
    import mimetypes  # its tables load on first use, and most runs add no file

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class LocalEnvironment:
    """Files in ``directory``; box, log and child runs in memory; children run in-process.

    ``processes`` are the programs a ``run to …``/``invoke to …``/``start a run`` may start: a
    child is found by its process name, then by any procedure phrase of those programs. ``smtp``
    is the e-mail book's server, or a function that reads its settings when mail is first sent.
    """

    def __init__(
        self,
        directory: Path,
        processes: Iterable[Program] = (),
        *,
        smtp: SmtpSettings | Callable[[], SmtpSettings] = SmtpSettings(),
        outbound: OutboundPolicy | Callable[[], OutboundPolicy] | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
        echo: Callable[[str], None] | None = None,
    ):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.processes = list(processes)
        self._smtp = smtp
        self._outbound = outbound
        self.clock = clock
        self.echo = echo
        self.box: dict[str, Any] = {}
        self.lines: list[str] = []
        self.children: dict[str, list[dict[str, Any]]] = {}
        self._files: dict[str, tuple[str, str, Path]] = {}

    @property
    def smtp(self) -> SmtpSettings:
        if not isinstance(self._smtp, SmtpSettings):
            self._smtp = self._smtp()
        return self._smtp

    @property
    def outbound(self) -> OutboundPolicy:
        """What the HTTP book may reach: public addresses only unless ``outbound`` allows more."""
        from plainrun.domain.outbound import OutboundPolicy

        if not isinstance(self._outbound, OutboundPolicy):
            self._outbound = self._outbound() if self._outbound is not None else OutboundPolicy()
        return self._outbound

    # files
    def add_file(self, name: str, data: bytes, content_type: str | None = None) -> FileRef:
        """Stores ``data`` as a new file and returns its value."""
        return self.write_file(name, data, content_type or _guess_type(name))

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
        file_id = os.urandom(16).hex()
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
        wanted = process_key(name)
        for program in self.processes:
            if normalise(program.name) == wanted:
                return program, None
        for program in self.processes:
            if (key := program.procedure_called(name)) is not None:
                return program, key
        raise BookError(f'there is no process named "{name}"')

    def start_child(self, process: str, inputs: dict[str, Any]) -> str:
        program, key = self.find_process(process)
        child = Execution.start(program, inputs, [], self, on_exception="fail", entry=key)
        outcome = child.run()
        if isinstance(outcome, Failed | Paused):
            message = outcome.message if isinstance(outcome, Failed) else outcome.question
            raise BookError(f'the child run "{process}" did not succeed: {message}')
        assert isinstance(outcome, Succeeded)  # a local child never waits: its own children ran inline
        child_id = os.urandom(16).hex()
        self.children[child_id] = outcome.outputs
        return child_id

    def wait_children(self, ids: list[str]) -> list[list[dict[str, Any]]]:
        return [self.children[child_id] for child_id in ids]
