"""The outbox actor: messages are written with the change they tell about and sent after it
commits, so a crash at any instant loses no message of a committed change and sends none of
one that did not commit. A message is sent twice only when the crash falls between Telegram
taking it and its sent-mark.

`unit()` is how work that talks to people runs: one transaction, whose Bot API calls
(inside `collecting`) become outbox rows written with it, claimed by the caller; after the
COMMIT the caller sends them itself, replies first. The update pipeline runs each update in
one (`actors/pipeline/handling.py`), the cleanup jobs and the matcher run theirs too.

`run()` owns two loops. The mark writer records what became of sent rows, for every sender
at once, as soon as the previous write is done (group commit: an update does not wait for
it, and a kill repeats at most what one write had not yet recorded). The sweep claims and
sends what is left: rows a crash left (at start, before the pipeline takes new updates) and
rows left for later because Telegram was away.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict

import anyio
from aiogram import Bot
from anyio.abc import TaskStatus
from loguru import logger

from teambot.adapters.database import DUPLICATE_ERRORS, TRANSIENT_ERRORS, Database
from teambot.adapters.delivery import Delivery, deliver
from teambot.adapters.effects import (
    Effects,
    Followup,
    Outgoing,
    collecting,
    method_from,
)
from teambot.data import outbox
from teambot.metrics import Metrics

log = logger.bind(actor="outbox")


class AlreadyHandled(Exception):
    """The update's effects were committed by an earlier handling: nothing was done now."""


class Outbox:
    # Telegram's message ids of recently sent rows, so an edit of a message sent a moment ago
    # (the previous registration prompt) needs no lookup.
    REMEMBERED = 10_000

    def __init__(
        self,
        database: Database,
        bot: Bot,
        metrics: Metrics,
        *,
        sweep_every: float = 5.0,
        first_sweep_budget: float = 15.0,
        batch: int = 100,
    ) -> None:
        self.database = database
        self.bot = bot
        self.metrics = metrics
        self.sweep_every = sweep_every
        self.first_sweep_budget = first_sweep_budget
        self.batch = batch
        self._next_id = self._end_id = 0
        self._allocating = anyio.Lock()
        # outcomes and released rows waiting for the mark writer
        self._done: list[outbox.Done] = []
        self._released: list[int] = []
        self._marks_waiting = anyio.Event()
        self._writing_marks = anyio.Lock()
        # chats with rows left to the sweep: their newer rows wait for it too, so that a
        # chat's messages arrive in the order they were written
        self._behind: set[int] = set()
        self._message_ids: OrderedDict[int, int] = OrderedDict()
        self._left_over = anyio.Event()

    @asynccontextmanager
    async def unit(self, *, update_id: int | None = None) -> AsyncIterator[Effects]:
        """One transaction with its messages; with `update_id`, also the update's handled
        mark (AlreadyHandled if an earlier handling committed it). The messages are sent
        when the block has committed."""
        effects = Effects(self._allocate)
        try:
            async with self.database.transaction() as transaction:
                with collecting(effects):
                    yield effects
                rows = effects.in_order()
                if rows or update_id is not None:
                    # the messages and the update's handled mark: one statement
                    transaction.before_commit(
                        outbox.insert,
                        update_id,
                        [_row(o) for o in rows],
                        handled=update_id is not None,
                    )
        except DUPLICATE_ERRORS:
            raise AlreadyHandled from None
        for action in effects.after_commit:
            action()
        await self.send(rows)

    async def send(self, rows: list[Outgoing], *, sweeping: bool = False) -> None:
        """Send committed rows in order and record what became of them. When Telegram is
        away the rest wait for the sweep, and so do rows for chats that have rows waiting
        already: a chat's messages keep their order."""
        if not rows:
            return
        message_ids = await self._message_ids_for(rows)
        done: list[outbox.Done] = []
        released: list[int] = []
        followups: list[Followup] = []
        marked = 0  # done[:marked] are with the group-commit writer already
        try:
            for index, outgoing in enumerate(rows):
                if not sweeping and outgoing.chat_id in self._behind:
                    released.append(outgoing.id)
                    self._left_over.set()
                    continue
                delivery = await self._deliver(outgoing, message_ids)
                if delivery.outcome == "retry":
                    self.metrics.outbox_deferred.inc()
                    self._behind.update(o.chat_id for o in rows[index:] if o.chat_id is not None)
                    released += [o.id for o in rows[index:]]
                    self._left_over.set()
                    break
                done.append(_done(delivery))
                self._note(outgoing, delivery, message_ids, followups)
                if not followups:
                    # each as soon as Telegram took it, not once the rows are through: a
                    # crash in a long run (a broadcast's batch) sends again only the last
                    self._mark(done[marked:], [])
                    marked = len(done)
        finally:
            # rows a cancellation cut short go back to the sweep, like those left for later
            settled = {item.id for item in done} | set(released)
            released += [o.id for o in rows if o.id not in settled]
            if not followups:
                self._mark(done[marked:], released)
        if followups:
            # the actor hears that their message did not arrive, recorded with the outcome
            async with self.unit():
                await self.database.run(outbox.mark_done, done[marked:], released)
                for followup in followups:
                    assert followup.chat_id is not None and followup.text is not None
                    await self.bot.send_message(followup.chat_id, followup.text)

    def _note(
        self,
        outgoing: Outgoing,
        delivery: Delivery,
        message_ids: dict[int, int | None],
        followups: list[Followup],
    ) -> None:
        if delivery.message_id is not None:
            message_ids[outgoing.id] = delivery.message_id
            self._remember(outgoing.id, delivery.message_id)
        followup = outgoing.if_undelivered
        if delivery.outcome == "refused" and followup is not None:
            if followup.warning:
                log.warning("{}: {}", followup.warning, delivery.error)
            if delivery.unreachable and followup.chat_id is not None and followup.text:
                followups.append(followup)

    def _mark(self, done: list[outbox.Done], released: list[int]) -> None:
        if done or released:
            self._done += done
            self._released += released
            self._marks_waiting.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._write_marks)
            # claims of a run that ended are void; what it left goes out before new updates
            # are taken, as far as Telegram lets
            await self.database.run(outbox.release_all)
            await self._allocate_block()  # ahead of the first update that sends something
            with anyio.move_on_after(self.first_sweep_budget):
                await self.sweep()
            task_status.started()
            while True:
                with anyio.move_on_after(self.sweep_every):
                    await self._left_over.wait()
                    await anyio.sleep(self.sweep_every)  # Telegram was away: not at once
                self._left_over = anyio.Event()
                try:
                    await self.sweep()
                except TRANSIENT_ERRORS as exc:
                    log.warning("outbox sweep waits for the database: {!r}", exc)

    async def sweep(self) -> None:
        """Claim and send rows nobody is sending, oldest first, until none is left or
        Telegram is away."""
        while True:
            await self._flush_marks()  # rows just left for later are free to claim now
            rows = await self.database.run(outbox.claim_unsent, self.batch)
            if not rows:
                self._behind.clear()
                return
            log.info("sending {} messages left from before", len(rows))
            left = [_outgoing(row) for row in rows]
            self._behind.update(o.chat_id for o in left if o.chat_id is not None)
            await self.send(left, sweeping=True)
            if self._left_over.is_set():
                return

    async def _write_marks(self) -> None:
        try:
            while True:
                await self._marks_waiting.wait()
                self._marks_waiting = anyio.Event()
                try:
                    await self._flush_marks()
                except TRANSIENT_ERRORS as exc:
                    log.warning("sent-marks wait for the database: {!r}", exc)
                    await anyio.sleep(1)
                    self._marks_waiting.set()
        finally:
            with anyio.move_on_after(5, shield=True):
                await self._flush_marks()

    async def _flush_marks(self) -> None:
        """Write every outcome noted so far, in one transaction (one round trip)."""
        async with self._writing_marks:
            done, self._done = self._done, []
            released, self._released = self._released, []
            if not done and not released:
                return
            try:
                async with self.database.transaction(priority=True) as transaction:
                    transaction.before_commit(outbox.mark_done, done, released)
            except BaseException:
                self._done[:0], self._released[:0] = done, released  # written next time
                raise

    async def _allocate(self) -> int:
        if self._next_id >= self._end_id:
            await self._allocate_block()
        row_id = self._next_id
        self._next_id += 1
        return row_id

    async def _allocate_block(self) -> None:
        async with self._allocating:
            if self._next_id >= self._end_id:
                first = await self.database.run(outbox.next_block)
                self._next_id, self._end_id = first, first + outbox.BLOCK

    async def _message_ids_for(self, rows: list[Outgoing]) -> dict[int, int | None]:
        """Telegram's ids for the messages these rows edit by provisional id."""
        wanted = {row.refers_to for row in rows if row.refers_to is not None}
        known: dict[int, int | None] = {
            row_id: self._message_ids[row_id] for row_id in wanted if row_id in self._message_ids
        }
        in_this_batch = {row.id for row in rows}
        missing = sorted(wanted - known.keys() - in_this_batch)
        if missing:
            known.update(await self.database.run(outbox.message_ids, missing))
        return known

    async def _deliver(self, outgoing: Outgoing, message_ids: dict[int, int | None]) -> Delivery:
        target = outgoing.refers_to
        if target is not None and message_ids.get(target, 0) is None:
            return Delivery(outgoing, "retry", error="the message it edits is not sent yet")
        resolved = {key: value for key, value in message_ids.items() if value is not None}
        delivery = await deliver(self.bot, outgoing, resolved)
        if delivery.outcome == "refused":
            log.info(
                "{} to chat {} refused: {}",
                outgoing.method.__api_method__,
                outgoing.chat_id,
                delivery.error,
            )
        return delivery

    def _remember(self, row_id: int, message_id: int) -> None:
        self._message_ids[row_id] = message_id
        if len(self._message_ids) > self.REMEMBERED:
            self._message_ids.popitem(last=False)


def _row(outgoing: Outgoing) -> outbox.Row:
    followup = outgoing.if_undelivered
    return outbox.Row(
        id=outgoing.id,
        method=outgoing.method.__api_method__,
        payload=outgoing.payload,
        background=outgoing.background,
        if_undelivered=None if followup is None else asdict(followup),
        chat_id=outgoing.chat_id,
    )


def _outgoing(row: outbox.Row) -> Outgoing:
    followup = None if row.if_undelivered is None else Followup(**row.if_undelivered)
    return Outgoing(
        row.id, method_from(row.method, row.payload), row.payload, row.background, followup
    )


def _done(delivery: Delivery) -> outbox.Done:
    outgoing = delivery.outgoing
    return outbox.Done(
        outgoing.id,
        delivery.message_id,
        delivery.error,
        outgoing.chat_id if delivery.unreachable else None,
    )
