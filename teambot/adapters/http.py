"""Serve an ASGI app with hypercorn on whichever anyio backend is running."""

from __future__ import annotations

import errno
import socket
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import anyio
import sniffio
from anyio.abc import TaskStatus
from hypercorn.config import Config

from teambot.errors import EX_CONFIG, FatalError

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def serve_asgi(
    app: Any,
    host: str,
    port: int,
    shutdown: anyio.Event,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until `shutdown` is set. Stop it that way rather than by cancellation:
    hypercorn's asyncio server logs every connection task that cancellation cuts short.

    The socket is bound and listening here, before hypercorn starts: a port in use fails
    at once with FatalError (exit 78), and the server is reachable when this reports
    started."""
    listener = _listen(host, port)
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]  # hypercorn's socket owns the descriptor now
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1
    if sniffio.current_async_library() == "trio":
        from hypercorn.trio import serve as trio_serve

        async with anyio.create_task_group() as tg:
            await tg.start(partial(trio_serve, app, config, shutdown_trigger=shutdown.wait))
            task_status.started()
    else:
        from hypercorn.asyncio import serve as asyncio_serve

        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(asyncio_serve, app, config, shutdown_trigger=shutdown.wait))
            task_status.started()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            problem = (
                f"HTTP_PORT: port {port} on {host} is already in use (another teambot?);"
                " set HTTP_PORT to a free port, or 0 to turn the health endpoint off"
            )
        elif exc.errno == errno.EACCES:
            problem = f"HTTP_PORT: port {port} needs privileges this process lacks; use 1024+"
        elif exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            problem = f"HTTP_HOST: {host} is not an address of this machine"
        else:
            problem = f"HTTP_HOST/HTTP_PORT: cannot listen on {host}:{port} ({exc.strerror})"
        raise FatalError(problem, EX_CONFIG) from None


async def respond(
    send: Send,
    status: int,
    body: str | bytes,
    content_type: str = "text/plain; charset=utf-8",
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """One whole ASGI response."""
    data = body.encode() if isinstance(body, str) else body
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request's body, or None when it is over `limit` bytes or the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
