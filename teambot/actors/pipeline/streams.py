"""Moving items between the pipeline's actors a batch at a time.

anyio's `send()` and `receive()` each yield to the event loop before moving an item. Under
a burst the loop has a turn for every busy worker, so an actor that moves one item per turn
moves as many items a second as the loop has turns, and the whole pipeline waits on it.
These move everything that can move without waiting, then yield once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

T = TypeVar("T")


async def send_all(stream: MemoryObjectSendStream[T], items: Iterable[T]) -> None:
    """Send `items` in order; wait only while the buffer is full."""
    for item in items:
        try:
            stream.send_nowait(item)
        except anyio.WouldBlock:
            await stream.send(item)
        except anyio.BrokenResourceError:
            # The next stage is gone. When the pipeline is being stopped (a step-down, a
            # restart) it went first while this actor finished a shielded database call:
            # the stop, not a crash (nothing is lost: what was read stays in the inbox).
            # Otherwise that stage failed, and says why itself.
            await anyio.lowlevel.checkpoint()
            raise


def ready(stream: MemoryObjectReceiveStream[T], first: T) -> list[T]:
    """`first` and every item waiting in the stream behind it."""
    batch = [first]
    while True:
        try:
            batch.append(stream.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            return batch
