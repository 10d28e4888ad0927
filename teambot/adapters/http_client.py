"""A small keep-alive HTTP/1.1 client on h11 and anyio, for the Bot API session.

The bot talks to one host, a few requests at a time, and is CPU-bound under load: httpx
spends ~3.5 ms of CPU per Bot API call (its pool logic runs on every request) where this
spends under 1 ms, like aiohttp, but on whichever anyio backend is running. h11 does the
protocol; this module only keeps idle connections for reuse.

Errors are `HttpFailure` with a neutral reason: callers put URLs holding secrets in, and
no URL ever comes out in an error.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import anyio
import h11
from anyio.abc import ByteStream, SocketAttribute

# Servers drop idle keep-alive connections after a while (nginx: 75 s); a connection idle
# for longer than this is not worth the risk of a request racing the server's close.
IDLE_LIMIT_SECONDS: Final = 30.0
_READ_SIZE: Final = 65536
_CONNECTION_ERRORS: Final = (
    OSError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
    h11.ProtocolError,
)


class HttpFailure(Exception):
    """The request got no usable answer: timed out, refused, reset or garbled."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int


class _Connection:
    def __init__(self, stream: ByteStream, origin: _Origin) -> None:
        self.stream = stream
        self.origin = origin
        self.protocol = h11.Connection(h11.CLIENT)
        # asyncio hands out a TransportSocket, which only has the fileno() needed here
        self.socket: socket.socket | None = stream.extra(SocketAttribute.raw_socket, None)
        self.idle_since = time.monotonic()

    def usable(self) -> bool:
        """Not idle too long and still open: an idle connection has nothing to read, so
        anything readable is the server's close (or junk) and the connection is dropped."""
        if time.monotonic() - self.idle_since > IDLE_LIMIT_SECONDS or self.socket is None:
            return False
        fd = self.socket.fileno()  # -1 once asyncio's transport saw the close and shut it
        if fd < 0:
            return False
        readable = select.poll()
        readable.register(fd, select.POLLIN)
        return not readable.poll(0)

    async def exchange(self, request: h11.Request, body: bytes) -> Response:
        protocol = self.protocol
        await self.stream.send(
            protocol.send(request)
            + protocol.send(h11.Data(data=body))
            + protocol.send(h11.EndOfMessage())
        )
        status = 0
        chunks: list[bytes] = []
        while True:
            event = protocol.next_event()
            if event is h11.NEED_DATA:
                try:
                    protocol.receive_data(await self.stream.receive(_READ_SIZE))
                except anyio.EndOfStream:
                    protocol.receive_data(b"")
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return Response(status, b"".join(chunks))
            elif isinstance(event, h11.ConnectionClosed):
                raise HttpFailure("connection closed before the answer")

    def reusable(self) -> bool:
        if self.protocol.our_state is h11.DONE and self.protocol.their_state is h11.DONE:
            self.protocol.start_next_cycle()
            self.idle_since = time.monotonic()
            return True
        return False

    async def close(self) -> None:
        await anyio.aclose_forcefully(self.stream)


class HttpClient:
    """Up to `connections` requests at once; idle connections are kept for the next."""

    def __init__(
        self,
        *,
        connections: int = 16,
        user_agent: str = "teambot",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._connections = connections
        self._user_agent = user_agent
        self._slots: anyio.Semaphore | None = None
        self._idle: list[_Connection] = []
        self._tls = tls

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        content_type: str = "application/x-www-form-urlencoded",
        timeout: float,
    ) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpFailure("not an http(s) URL")
        origin = _Origin(parts.scheme, parts.hostname, parts.port or _default_port(parts.scheme))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [
            ("Host", parts.netloc),
            ("User-Agent", self._user_agent),
            ("Content-Length", str(len(body))),
        ]
        if body:
            headers.append(("Content-Type", content_type))
        try:
            request = h11.Request(method=method, target=target, headers=headers)
        except h11.LocalProtocolError:
            raise HttpFailure("not a valid request") from None
        if self._slots is None:
            self._slots = anyio.Semaphore(self._connections)
        async with self._slots:
            connection: _Connection | None = None
            try:
                with anyio.fail_after(timeout):
                    connection = await self._reuse(origin) or await self._connect(origin)
                    response = await connection.exchange(request, body)
            except BaseException as exc:
                if connection is not None:
                    await connection.close()  # cut off mid-exchange: never reused
                if isinstance(exc, TimeoutError):
                    raise HttpFailure("timed out") from None
                if isinstance(exc, _CONNECTION_ERRORS):
                    raise HttpFailure(f"connection failed ({type(exc).__name__})") from None
                raise
            if connection.reusable():
                self._idle.append(connection)
            else:
                await connection.close()
            return response

    async def _reuse(self, origin: _Origin) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()  # the most recently used is the least likely stale
            if connection.origin == origin and connection.usable():
                return connection
            await connection.close()
        return None

    async def _connect(self, origin: _Origin) -> _Connection:
        if origin.scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            stream: ByteStream = await anyio.connect_tcp(
                origin.host, origin.port, tls=True, ssl_context=self._tls, tls_hostname=origin.host
            )
        else:
            stream = await anyio.connect_tcp(origin.host, origin.port)
        return _Connection(stream, origin)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80
