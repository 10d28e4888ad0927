"""The fake Bot API (tests/fake_telegram.py) in a process of its own, for tests whose bots
run as processes too. In a thread of pytest it shares pytest's GIL with the test's polling
loops, and under load it reads requests late and in clumps: a bot that paces its messages
at Telegram's 30 a second then looks like it sends 40 in a second. In its own process, and
at the default scheduling priority when the tests run under `nice` (as root; otherwise it
keeps the niceness it inherits), it reads them when they come, as Telegram would.

The proxy forwards method calls and attribute reads and writes over a pipe; arguments and
results are pickled (SentMessage, ApiCall: plain dataclasses). `wait_until_sync` polls
its predicate here, in the test's process.
"""

from __future__ import annotations

import contextlib
import inspect
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, ClassVar

_LOCAL = frozenset({"_conn", "_lock", "_process", "token", "api_url", "port"})


def _serve(conn: Connection, kwargs: dict[str, Any], priority: int | None) -> None:
    from tests.fake_telegram import FakeTelegram

    if priority is not None:
        with contextlib.suppress(OSError):  # lowering niceness needs root
            os.setpriority(os.PRIO_PROCESS, 0, priority)
    with FakeTelegram(**kwargs) as fake:
        conn.send((fake.token, fake.api_url, fake.port))
        while True:
            try:
                op, name, args, kw = conn.recv()
            except EOFError:
                return
            try:
                if op == "get":
                    value = getattr(fake, name)
                    if args is not None:
                        result = value(*args, **kw)
                    else:
                        result = _METHOD if inspect.ismethod(value) else value
                else:
                    setattr(fake, name, args)
                    result = None
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                conn.send((False, exc))
            else:
                conn.send((True, result))


class FakeTelegramProcess:
    def __init__(self, *, priority: int | None = 0, **kwargs: Any) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, kwargs, priority), daemon=True)
        process.start()
        child.close()
        object.__setattr__(self, "_conn", parent)
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_process", process)
        token, api_url, port = parent.recv()
        object.__setattr__(self, "token", token)
        object.__setattr__(self, "api_url", api_url)
        object.__setattr__(self, "port", port)

    def _ask(self, op: str, name: str, args: Any, kw: dict[str, Any]) -> Any:
        with self._lock:
            self._conn.send((op, name, args, kw))
            ok, result = self._conn.recv()
        if not ok:
            raise result
        return result

    _methods: ClassVar[set[str]] = set()  # names known to be methods: called in one round trip

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._methods:
            value = self._ask("get", name, None, {})
            if value is not _METHOD:
                return value
            self._methods.add(name)
        return lambda *args, **kw: self._ask("get", name, args, kw)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LOCAL:
            object.__setattr__(self, name, value)
        else:
            self._ask("set", name, value, {})

    def wait_until_sync(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "a condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.01)

    def close(self) -> None:
        self._conn.close()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


class _Method:
    """Sent back for an attribute that is a method: the proxy then calls it remotely."""

    def __reduce__(self) -> str:
        return "_METHOD"


_METHOD = _Method()
