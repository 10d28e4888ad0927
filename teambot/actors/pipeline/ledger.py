"""Which updates are being handled, and how far Telegram may be told.

Telegram's getUpdates `offset` confirms every update below it. The poller stores each
batch in the inbox before it enters the ledger, so the offset may move past everything the
ledger has seen. The ledger outlives the actors that fill and drain it: when the pipeline
restarts, what was in flight is fed again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from aiogram.types import Update


@dataclass
class PendingUpdate:
    update_id: int
    update: Update | None  # None: malformed, confirmed without handling
    fetched_at: float = field(default_factory=anyio.current_time)


class UpdateLedger:
    def __init__(self) -> None:
        self._pending: dict[int, PendingUpdate] = {}  # insertion order == update_id order
        self._highest_seen: int | None = None
        self._done_since_flush: list[int] = []
        self._progress = anyio.Event()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    @property
    def offset(self) -> int | None:
        """The getUpdates offset that confirms what has been stored."""
        return None if self._highest_seen is None else self._highest_seen + 1

    def is_new(self, update_id: int) -> bool:
        return self._highest_seen is None or update_id > self._highest_seen

    def add(self, update_id: int, update: Update | None) -> PendingUpdate:
        item = PendingUpdate(update_id, update)
        self._pending[update_id] = item
        self.seen(update_id)
        return item

    def seen(self, update_id: int) -> None:
        """Updates up to `update_id` are stored or handled: not to be taken again."""
        if self._highest_seen is None or update_id > self._highest_seen:
            self._highest_seen = update_id

    def done(self, update_id: int, *, marked: bool = False) -> None:
        """`marked`: its handled mark committed with its effects; the poller need not
        write one."""
        if self._pending.pop(update_id, None) is not None:
            if not marked:
                self._done_since_flush.append(update_id)
            self._progress.set()
            self._progress = anyio.Event()

    def in_hand(self) -> list[int]:
        """The ids being handled (or waiting for their turn)."""
        return list(self._pending)

    def pending(self) -> list[PendingUpdate]:
        return list(self._pending.values())

    def oldest_age(self) -> float:
        if not self._pending:
            return 0.0
        return anyio.current_time() - next(iter(self._pending.values())).fetched_at

    def take_done(self) -> list[int]:
        done, self._done_since_flush = self._done_since_flush, []
        return done

    def return_done(self, update_ids: list[int]) -> None:
        self._done_since_flush[:0] = update_ids

    async def wait_progress(self) -> None:
        await self._progress.wait()

    async def wait_drained(self) -> None:
        while self._pending:
            await self.wait_progress()
