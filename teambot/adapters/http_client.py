"""A small keep-alive HTTP/1.1 client on anyio, for the Bot API session.

The bot talks to one host, a few requests at a time, and is CPU-bound under load: httpx
spends ~3.5 ms of CPU per Bot API call (its pool logic runs on every request) where this
spends under 1 ms, like aiohttp, but on whichever anyio backend is running. httptools
(llhttp, the parser of Node.js, uvicorn and aiohttp) reads the answers; a request is a few
lines this module writes. It also keeps idle connections for reuse.

Errors are `HttpFailure` with a neutral reason: callers put URLs holding secrets in, and
no URL ever comes out in an error.

Through a proxy (`http://`, `socks5://`, `socks5h://`; python-socks speaks the protocols)
each connection is a tunnel to the Bot API host, and TLS runs inside it with that host's
name, so the proxy sees neither the token nor the messages. Its credentials appear in no
error: they live only in the python-socks `Proxy`, which prints none of them.
"""

from __future__ import annotations

import os
import re
import select
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote, urlsplit

import anyio
import httptools
from anyio.abc import ByteStream, SocketAttribute
from python_socks import ProxyConnectionError, ProxyError, ProxyType
from python_socks.async_.anyio.v2 import Proxy

# Servers drop idle keep-alive connections after a while (nginx: 75 s); a connection idle
# for longer than this is not worth the risk of a request racing the server's close.
IDLE_LIMIT_SECONDS: Final = 30.0
_READ_SIZE: Final = 65536
_CONNECTION_ERRORS: Final = (
    OSError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
    httptools.HttpParserError,
)
# what a request line's target and the Host header may hold: visible ASCII, no spaces
_VISIBLE: Final = re.compile(r"[!-~]+")


class HttpFailure(Exception):
    """The request got no usable answer: timed out, refused, reset or garbled."""


class CertificateNotTrusted(HttpFailure):
    """The server's TLS certificate failed the check: a setup problem (a TLS-inspecting
    proxy, a missing CA bundle) rather than an outage."""


_PROXY_KINDS: Final = {
    "http": (ProxyType.HTTP, False),
    "socks5": (ProxyType.SOCKS5, False),  # names resolved here, as curl does
    "socks5h": (ProxyType.SOCKS5, True),  # names resolved by the proxy
}


@dataclass(frozen=True)
class ProxyServer:
    address: str  # host:port, safe to show
    connector: Proxy = field(repr=False)  # holds the credentials


def parse_proxy(url: str) -> ProxyServer:
    """A proxy from `http://user:password@host:port`, `socks5://…` or `socks5h://…`.

    The ValueError never quotes the URL: it may hold a password."""
    problem = "expected http://, socks5:// or socks5h:// with user:password@host:port"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(problem) from None
    if parts.scheme not in _PROXY_KINDS or not parts.hostname or port is None:
        raise ValueError(problem)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(problem + " and nothing after the port")
    kind, remote_dns = _PROXY_KINDS[parts.scheme]
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if kind is ProxyType.HTTP and username is not None and ":" in username:
        raise ValueError("a proxy user name may not contain ':' (percent-encoded or not)")
    connector = Proxy(kind, parts.hostname, port, username, password, rdns=remote_dns)
    return ProxyServer(f"{parts.hostname}:{port}", connector)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int


class _Answer:
    """httptools' callbacks for one response: its body, and whether it is complete."""

    __slots__ = ("chunks", "complete", "framed", "headers_done", "keep_alive", "parser")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.complete = False
        self.framed = False  # a length or chunks say where it ends, not the server's close
        self.headers_done = False
        self.keep_alive = False
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.parser.get_status_code() < 200:
            # "100 Continue" and the like come before the answer
            self.chunks, self.framed, self.headers_done = [], False, False
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # asked here: llhttp resets after

    def response(self) -> Response:
        return Response(self.parser.get_status_code(), b"".join(self.chunks))


class _Connection:
    def __init__(self, stream: ByteStream, origin: _Origin) -> None:
        self.stream = stream
        self.origin = origin
        self.keep_alive = False  # set by each exchange that got its answer whole
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

    async def exchange(self, request: bytes) -> Response:
        self.keep_alive = False
        await self.stream.send(request)
        answer = _Answer()
        while not answer.complete:
            try:
                data = await self.stream.receive(_READ_SIZE)
            except anyio.EndOfStream:
                if answer.headers_done and not answer.framed:
                    return answer.response()  # its end is the server's close
                raise HttpFailure("connection closed before the answer") from None
            try:
                answer.parser.feed_data(data)
            except httptools.HttpParserError:
                if not answer.complete:
                    raise
                return answer.response()  # junk after a whole answer: not reused
        self.keep_alive = answer.keep_alive
        return answer.response()

    def reusable(self) -> bool:
        if self.keep_alive:
            self.idle_since = time.monotonic()
        return self.keep_alive

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
        proxy: ProxyServer | None = None,
    ) -> None:
        self._connections = connections
        self._user_agent = user_agent
        self._slots: anyio.Semaphore | None = None
        self._idle: list[_Connection] = []
        self._tls = tls
        self._proxy = proxy

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        content_type: str = "application/json",
        timeout: float,
        go_ahead: Callable[[], None] | None = None,
    ) -> Response:
        """`go_ahead`, if given, is asked once a connection is in hand, just before the
        request is written (the wait for a connection can be long): raising there sends
        nothing."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpFailure("not an http(s) URL")
        origin = _Origin(parts.scheme, parts.hostname, parts.port or _default_port(parts.scheme))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not (_VISIBLE.fullmatch(target) and _VISIBLE.fullmatch(parts.netloc)):
            raise HttpFailure("not a valid request")
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"User-Agent: {self._user_agent}\r\nContent-Length: {len(body)}\r\n"
        )
        if body:
            head += f"Content-Type: {content_type}\r\n"
        request = (head + "\r\n").encode("ascii") + body
        if self._slots is None:
            # a free connection is taken without a turn of the event loop: the exchange
            # that follows waits for the server anyway
            self._slots = anyio.Semaphore(self._connections, fast_acquire=True)
        async with self._slots:
            connection: _Connection | None = None
            try:
                with anyio.fail_after(timeout):
                    connection = await self._reuse(origin) or await self._connect(origin)
                    if go_ahead is not None:
                        go_ahead()
                    response = await connection.exchange(request)
            except BaseException as exc:
                if connection is not None:
                    await connection.close()  # cut off mid-exchange: never reused
                if isinstance(exc, TimeoutError):
                    raise HttpFailure("timed out") from None
                if isinstance(exc, _CONNECTION_ERRORS):
                    raise _failure(exc) from None
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
        if self._proxy is not None:
            return _Connection(await self._tunnel(self._proxy, origin), origin)
        if origin.scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            stream: ByteStream = await anyio.connect_tcp(
                origin.host, origin.port, tls=True, ssl_context=self._tls, tls_hostname=origin.host
            )
        else:
            stream = await anyio.connect_tcp(origin.host, origin.port)
        return _Connection(stream, origin)

    async def _tunnel(self, proxy: ProxyServer, origin: _Origin) -> ByteStream:
        tls: ssl.SSLContext | None = None
        if origin.scheme == "https":
            tls = self._tls = self._tls or ssl.create_default_context()
        try:
            # TLS starts inside the tunnel, checked against the Bot API host's name
            tunnel = await proxy.connector.connect(origin.host, origin.port, dest_ssl=tls)
        except ProxyConnectionError as exc:
            cause = type(_first_cause(exc)).__name__
            raise HttpFailure(f"proxy {proxy.address} unreachable ({cause})") from None
        except ProxyError as exc:
            # python-socks says what went wrong ("407 Proxy Authentication Required",
            # "Username and password authentication failure"), never with the credentials
            raise HttpFailure(f"proxy {proxy.address} refused the tunnel: {exc}") from None
        return tunnel.anyio_stream

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


def _failure(exc: BaseException) -> HttpFailure:
    """A short, URL-free reason an operator can act on ("connection refused")."""
    exc = _first_cause(exc)  # anyio: "All connection attempts failed" from the real cause
    if isinstance(exc, ssl.SSLCertVerificationError):
        return CertificateNotTrusted(f"TLS certificate not trusted: {exc.verify_message}")
    if isinstance(exc, ssl.SSLError):
        return HttpFailure(f"TLS failed: {exc.reason or type(exc).__name__}")
    if isinstance(exc, socket.gaierror):
        return HttpFailure(f"host name not resolved: {exc.strerror}")
    if isinstance(exc, OSError) and exc.errno is not None:
        return HttpFailure(os.strerror(exc.errno).lower())
    if isinstance(exc, anyio.EndOfStream | anyio.BrokenResourceError):
        return HttpFailure("connection closed by the server")
    if isinstance(exc, httptools.HttpParserError):
        return HttpFailure("garbled answer")
    return HttpFailure(f"connection failed ({type(exc).__name__})")


def _first_cause(exc: BaseException) -> BaseException:
    """ConnectionRefusedError rather than the OSErrors wrapped around it."""
    while True:
        if isinstance(exc, BaseExceptionGroup):
            exc = exc.exceptions[0]
        elif exc.__cause__ is not None:
            exc = exc.__cause__
        else:
            return exc


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80
