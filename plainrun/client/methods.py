"""The client's methods, each one call of :mod:`plainrun.client.calls`, listed once.

``client.get_run(run_id)`` builds ``calls.GetRun(run_id)`` and hands it to the client's driver:
``drive`` for a call (its result, or with the async client an awaitable of it), ``every`` for a
:class:`~plainrun.client.wire.Listing` (an iterator over every item, page after page). The sync
:class:`~plainrun.client.Client`, the :class:`~plainrun.client.AsyncClient` and the command
line's ``LocalBackend`` are such drivers; each method's arguments and result are its call's.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from plainrun.client import calls
from plainrun.client.models import Resource
from plainrun.client.wire import Call, Listing

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", bound=Resource)


class Drives(Protocol):
    """A driver that answers at once (the sync client, the command line's backend)."""

    def drive(self, call: Call[T], /) -> T: ...
    def every(self, call: Listing[R], /) -> Iterator[R]: ...


class DrivesAsync(Protocol):
    """A driver whose answers are awaited (the async client)."""

    def drive(self, call: Call[T], /) -> Coroutine[Any, Any, T]: ...
    def every(self, call: Listing[R], /) -> AsyncIterator[R]: ...


class _Method(Generic[P, T]):
    def __init__(self, make: Callable[P, Any]):
        self.make = make
        self.__doc__ = make.__doc__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def _bound(self, run: Callable[[Any], Any]) -> Callable[..., Any]:
        make = self.make

        @functools.wraps(make, updated=())
        def method(*args: Any, **kwargs: Any) -> Any:
            return run(make(*args, **kwargs))

        method.__name__ = method.__qualname__ = self.name
        return method


class one(_Method[P, T]):
    """A method that drives one call and returns its result."""

    def __init__(self, make: Callable[P, Call[T]]):
        super().__init__(make)

    @overload
    def __get__(self, driver: None, owner: type[Any]) -> one[P, T]: ...
    @overload
    def __get__(self, driver: Drives, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, driver: DrivesAsync, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, driver: Any, owner: type[Any]) -> Any:
        return self if driver is None else self._bound(driver.drive)


class every(_Method[P, R]):
    """A method that iterates over every item of a list, page after page."""

    def __init__(self, make: Callable[P, Listing[R]]):
        super().__init__(make)

    @overload
    def __get__(self, driver: None, owner: type[Any]) -> every[P, R]: ...
    @overload
    def __get__(self, driver: Drives, owner: type[Any]) -> Callable[P, Iterator[R]]: ...
    @overload
    def __get__(self, driver: DrivesAsync, owner: type[Any]) -> Callable[P, AsyncIterator[R]]: ...
    def __get__(self, driver: Any, owner: type[Any]) -> Any:
        return self if driver is None else self._bound(driver.every)


class Methods:
    """Every method of the clients: its arguments and result are those of the call it names."""

    # runs
    start_run = one(calls.StartRun)
    get_run = one(calls.GetRun)
    list_runs = every(calls.ListRuns)
    wait_for_run = one(calls.WaitForRun)
    run_events = one(calls.RunEvents)
    cancel_run = one(calls.CancelRun)
    rerun_runs = one(calls.RerunRuns)
    archive_runs = one(calls.ArchiveRuns)
    unarchive_runs = one(calls.UnarchiveRuns)
    # guidance
    answer_run = one(calls.AnswerRun)
    list_learnings = one(calls.ListLearnings)
    delete_learning = one(calls.DeleteLearning)
    # files and agents
    upload_file = one(calls.UploadFile)
    get_file = one(calls.GetFile)
    download_file = one(calls.DownloadFile)
    list_agents = one(calls.ListAgents)
    # processes
    list_processes = every(calls.ListProcesses)
    get_process = one(calls.GetProcess)
    create_process = one(calls.CreateProcess)
    update_process = one(calls.UpdateProcess)
    publish_process = one(calls.PublishProcess)
    process_versions = one(calls.ProcessVersions)
    # schedules
    create_schedule = one(calls.CreateSchedule)
    list_schedules = one(calls.ListSchedules)
    get_schedule = one(calls.GetSchedule)
    update_schedule = one(calls.UpdateSchedule)
    delete_schedule = one(calls.DeleteSchedule)
    # the Test Suite
    add_test_cases = one(calls.AddTestCases)
    list_test_cases = one(calls.ListTestCases)
    remove_test_case = one(calls.RemoveTestCase)
    start_test_run = one(calls.StartTestRun)
    get_test_run = one(calls.GetTestRun)
    stop_test_run = one(calls.StopTestRun)
