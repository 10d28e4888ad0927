"""Serve an ASGI app with hypercorn on whichever anyio backend is running."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
import sniffio
from anyio.abc import TaskStatus
from hypercorn.config import Config


async def serve_asgi(
    app: Any,
    host: str,
    port: int,
    shutdown: anyio.Event,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until `shutdown` is set. Stop it that way rather than by cancellation:
    hypercorn's asyncio server logs every connection task that cancellation cuts short."""
    config = Config()
    config.bind = [f"{host}:{port}"]
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
            await _wait_listening(host, port)
            task_status.started()


async def _wait_listening(host: str, port: int) -> None:
    # hypercorn's asyncio serve has no readiness hook; a bind failure raises in its task
    with anyio.fail_after(10):
        while True:
            try:
                stream = await anyio.connect_tcp(host, port)
            except OSError:
                await anyio.sleep(0.02)
                continue
            await stream.aclose()
            return
