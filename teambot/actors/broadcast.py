"""The broadcast actor: sends the organizers' announcements (an admin starts one with
/broadcast, routers/broadcast.py), one broadcast at a time, oldest first.

A batch of recipients at a time, in id order: their messages are written into the outbox in
one unit of work together with the cursor's advance (`broadcast_recipients.outbox_id`), so a
restart resumes exactly where the last batch ended: nobody gets it twice, nobody is skipped.
The unit sends its batch itself once it has committed, at background priority under the
flood limits, so replies to people overtake it and Telegram's limits hold. The next batch is
written only when nothing of this broadcast is held back in the outbox: when Telegram was
away the outbox's sweep has those messages, and the actor waits for it rather than pile up
more. A message Telegram refuses (the person blocked the bot) is counted as not delivered
and not tried again; the outbox marks the person unreachable, which leaves them out of the
next broadcast. Someone who turned announcements off, was banned or left before their turn
is skipped.

The admin watches one message, edited at most every `progress_every` seconds, with a Stop
button; a stop takes effect before the next batch, and messages still held back are
withdrawn. A stop of the bot (`request_stop`) lets the batch on its way finish first, so no
message is cut off between Telegram taking it and its sent-mark.
"""

from __future__ import annotations

import anyio
from aiogram import Bot
from anyio.abc import TaskStatus
from loguru import logger

from teambot import notices
from teambot.actors.outbox import Outbox
from teambot.actors.pipeline.dispatch import TRANSIENT
from teambot.adapters.database import Database
from teambot.data import broadcasts
from teambot.domain import BroadcastProgress
from teambot.metrics import Metrics

log = logger.bind(actor="broadcast")


class Broadcaster:
    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        bot: Bot,
        metrics: Metrics,
        *,
        batch: int = 30,
        progress_every: float = 3.0,
        poll_every: float = 1.0,
        drain_check: float = 0.5,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.bot = bot
        self.metrics = metrics
        # small enough that a stop of the bot waits for one batch only (~1 s at 25/s)
        self.batch = batch
        self.progress_every = progress_every
        self.poll_every = poll_every  # looking for a new broadcast
        self.drain_check = drain_check  # waiting for the outbox to send what it holds
        self._stopping = anyio.Event()

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while not self._stopping.is_set():
            try:
                broadcast_id = await self.database.run(broadcasts.unfinished)
                if broadcast_id is None:
                    await self._pause(self.poll_every)
                else:
                    await self._carry_out(broadcast_id)
            except TRANSIENT as exc:
                # an outage, reported where it is noticed: the broadcast resumes after it
                log.warning("broadcast waits for the database or the Bot API: {!r}", exc)
                await self._pause(5)

    async def _carry_out(self, broadcast_id: int) -> None:
        # the admin's message shows nothing sent yet (routers/broadcast.py)
        shown: tuple[int, ...] | None = None
        shown_at = anyio.current_time()
        started = await self.database.run(broadcasts.progress, broadcast_id)
        if started is not None:
            self.metrics.broadcast_remaining.set(started.remaining)
        while not self._stopping.is_set():
            pace = await self.database.run(broadcasts.pace, broadcast_id)
            if pace is None:
                return
            sending = pace.status == "sending"
            if not sending and pace.held:
                withdrawn = await self.database.run(broadcasts.withdraw, broadcast_id)
                log.info("broadcast {} stopped: {} messages withdrawn", broadcast_id, withdrawn)
                continue
            if (not sending or not pace.to_write) and pace.unsent == 0:
                await self._finish(broadcast_id)
                return
            # the figures (a count over every recipient) only when they may be shown
            progress = None
            now = anyio.current_time()
            if sending and now - shown_at >= self.progress_every:
                progress = await self.database.run(broadcasts.progress, broadcast_id)
                shown_at = now
                if progress is not None:
                    self.metrics.broadcast_remaining.set(progress.remaining)
                    if _figures(progress) == (shown or (0, 0, 0, progress.total)):
                        progress = None  # Telegram refuses an edit that changes nothing
                    else:
                        shown = _figures(progress)
            if not sending or not pace.to_write or pace.held:
                # the last messages are on their way, or the outbox holds some back
                if progress is not None:
                    async with self.outbox.unit():
                        await notices.broadcast_progress(self.bot, progress)
                await self._pause(self.drain_check)
                continue
            async with self.outbox.unit():
                body, batch = await self.database.run(
                    broadcasts.take_batch, broadcast_id, self.batch
                )
                if not batch:
                    continue  # stopped meanwhile
                if progress is not None:
                    await notices.broadcast_progress(self.bot, progress)
                outbox_ids: dict[int, int] = {}
                for person in batch:
                    if person.takes_it:
                        message = await notices.send_announcement(
                            self.bot, person.user_id, person.language, body
                        )
                        assert message is not None  # a stand-in: the outbox sends it
                        outbox_ids[person.user_id] = -message.message_id
                left_out = [person.user_id for person in batch if not person.takes_it]
                await self.database.run(broadcasts.written, broadcast_id, outbox_ids, left_out)

    async def _finish(self, broadcast_id: int) -> None:
        async with self.outbox.unit():
            final = await self.database.run(broadcasts.finish, broadcast_id)
            if final is not None:
                await notices.broadcast_progress(self.bot, final, final=True)
        self.metrics.broadcast_remaining.set(0)
        if final is not None:
            log.info(
                "broadcast {} {}: {} delivered, {} not delivered, {} skipped, {} not sent",
                broadcast_id,
                final.status,
                final.delivered,
                final.undelivered,
                final.skipped,
                final.remaining,
            )

    async def _pause(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await self._stopping.wait()


def _figures(progress: BroadcastProgress) -> tuple[int, ...]:
    return (progress.delivered, progress.undelivered, progress.skipped, progress.remaining)
