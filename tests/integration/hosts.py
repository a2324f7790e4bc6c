"""Hosts on one machine: Linux network namespaces on a bridge of their own, for the many-host test.

``network()`` makes one namespace per host (``ip netns add``), each with one end of a veth pair in
it (``eth0``, an address in a private /24 of 10.231.0.0/16 that no interface of the machine uses)
and the other end on a bridge in the root namespace, which holds the subnet's ``.1``. A namespace
has no default route: a host reaches the bridge's subnet and its own loopback, nothing else.
Everything is removed when the block ends, however it ends; what a crashed run left behind (names
carrying the pid of a process that is gone) is removed before anything is made.

PostgreSQL listens on 127.0.0.1 only, so ``Forwarder`` (asyncio, in a thread of the test) listens
on the bridge's address and passes each connection on to 127.0.0.1:5432: the hosts reach the
database through it and through nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: Namespaces are ``plainrun-<pid>-<host>``; the bridge ``prb<pid>``, the root ends of the veth pairs
#: ``prv<pid><host>`` (interface names have at most 15 characters). ``<pid>`` is the test process's.
NETNS_PREFIX = "plainrun-"
_OWNED = re.compile(r"^(?:plainrun-(\d+)-[a-z]+|pr[bv](\d+)[a-z]?)$")
#: The /24s are taken from here: 10.231.N.0/24 with the first N that no address of the machine is in.
SUBNETS = ipaddress.IPv4Network("10.231.0.0/16")
_LOCK = Path(tempfile.gettempdir()) / "plainrun-hosts.lock"


def require_namespaces() -> None:
    """Skip when network namespaces cannot be made here (not root) on a developer's machine; under
    ``CI=true`` never skip: a missing capability is a failure."""
    problem = None
    if os.geteuid() != 0:
        problem = "network namespaces need root"
    elif shutil.which("ip") is None:
        problem = "`ip` (iproute2) is not installed: make test installs it"
    if problem is None:
        return
    if os.environ.get("CI") == "true" or os.geteuid() == 0:
        pytest.fail(problem)
    pytest.skip(problem)


def ip(*args: str) -> str:
    """``ip ARGS``; its output. A failure raises with ip's own message."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Host:
    """One network namespace: a machine with one address on the test's subnet."""

    name: str
    netns: str
    address: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, args: Sequence[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
        """``ip netns exec NETNS ARGS`` (ip execs the command: the process is the command itself)."""
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, *args],
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def pids(self) -> list[int]:
        """Every process in the namespace (started here or by what was started here)."""
        return [int(p) for p in ip("netns", "pids", self.netns).split()]

    def kill(self) -> None:
        """SIGKILL every process of the namespace, as when the machine dies; return once none is left."""
        deadline = time.monotonic() + 30
        while pids := self.pids():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes of {self.netns} survive SIGKILL: {pids}")
            time.sleep(0.05)
        for proc in self.procs:
            proc.wait(30)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM what was started here, wait for it to end, then kill whatever is left."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        self.kill()


@dataclass
class Network:
    """The bridge and its hosts."""

    bridge: str
    gateway: str  # the bridge's address, in the root namespace
    subnet: ipaddress.IPv4Network
    hosts: dict[str, Host]


@contextlib.contextmanager
def network(names: Sequence[str]) -> Iterator[Network]:
    """One host (namespace) per name, on a fresh bridge; all of it removed afterwards."""
    tag = str(os.getpid())
    bridge = f"prb{tag}"
    made: list[Host] = []
    with locked():
        remove_leftovers()
        subnet = _free_subnet()
        gateway = str(subnet.network_address + 1)
        try:
            ip("link", "add", bridge, "type", "bridge")
            ip("addr", "add", f"{gateway}/{subnet.prefixlen}", "dev", bridge)
            ip("link", "set", bridge, "up")
            for i, name in enumerate(names):
                host = Host(name, f"{NETNS_PREFIX}{tag}-{name}", str(subnet.network_address + 11 + i))
                ip("netns", "add", host.netns)
                made.append(host)
                outside = f"prv{tag}{name}"
                ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
                ip("link", "set", outside, "master", bridge, "up")
                ip("-n", host.netns, "addr", "add", f"{host.address}/{subnet.prefixlen}", "dev", "eth0")
                ip("-n", host.netns, "link", "set", "eth0", "up")
                ip("-n", host.netns, "link", "set", "lo", "up")
        except BaseException:
            _remove(bridge, made)
            raise
    try:
        yield Network(bridge, gateway, subnet, {h.name: h for h in made})
    finally:
        _remove(bridge, made)


def _remove(bridge: str, hosts: Sequence[Host]) -> None:
    for host in hosts:
        with contextlib.suppress(RuntimeError):
            host.stop(timeout=10)
        with contextlib.suppress(RuntimeError):
            ip("netns", "del", host.netns)  # its end of the veth pair goes with it, and so the other
    with contextlib.suppress(RuntimeError):
        ip("link", "del", bridge)


def remove_leftovers() -> list[str]:
    """Namespaces and links of earlier runs whose test process is gone (a crash, a SIGKILL)."""
    removed = []
    for netns in ip("netns", "list").split("\n"):
        name = netns.split(" ")[0]
        if _orphaned(name):
            host = Host("", name, "")
            with contextlib.suppress(RuntimeError):
                host.kill()
            ip("netns", "del", name)
            removed.append(name)
    for line in ip("-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if _orphaned(name):
            with contextlib.suppress(RuntimeError):  # gone with its namespace meanwhile
                ip("link", "del", name)
            removed.append(name)
    return removed


def _orphaned(name: str) -> bool:
    match = _OWNED.match(name)
    if match is None:
        return False
    pid = int(match.group(1) or match.group(2))
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _free_subnet() -> ipaddress.IPv4Network:
    used = [
        ipaddress.ip_interface(word).network
        for line in ip("-4", "-o", "addr", "show").splitlines()
        for word in line.split()[3:4]
    ]
    for subnet in SUBNETS.subnets(new_prefix=24):
        if subnet.network_address.packed[2] == 0:
            continue
        if not any(subnet.overlaps(other) for other in used):
            return subnet
    raise RuntimeError(f"no free /24 in {SUBNETS}")


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """One test process at a time makes or removes namespaces (and picks a subnet)."""
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Forwarder:
    """A TCP forwarder in the root namespace: ``listen`` (an address of the bridge, any free port) to
    ``target``, each connection its own pair of pipes, all closed when it stops."""

    def __init__(self, listen: str, target: tuple[str, int]):
        self.listen = listen
        self.target = target
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="forwarder", daemon=True)

    def __enter__(self) -> Forwarder:
        self._thread.start()
        if not self._ready.wait(30) or not self.port:
            raise RuntimeError(f"the forwarder could not listen on {self.listen}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _main(self) -> None:
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            self.connections += 1
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                writer.close()
                tasks.discard(task)
                return
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            finally:
                tasks.discard(task)

        try:
            server = await asyncio.start_server(accept, self.listen, 0)
        except OSError:
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until either side ends; then close this direction's writer (which ends the other pipe)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await writer.wait_closed()
