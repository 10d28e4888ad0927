"""The matcher: when a profile becomes searchable or its skills or wants change, tells the
people who would now find it, in a short digest, at most once a day each.

Handlers report changes with `profile_changed`, which never blocks: the events wait in a
bounded memory stream, and when the matcher falls that far behind an event is dropped (a
digest is a courtesy, /search always shows everything). Changes are gathered for `delay`
seconds, so one digest can say "3 new teams match you" instead of announcing the first.
"""

from __future__ import annotations

from functools import partial

import anyio
from aiogram import Bot
from anyio.abc import TaskStatus
from loguru import logger

from teambot import notices
from teambot.actors.outbox import Outbox
from teambot.actors.pipeline.dispatch import TRANSIENT
from teambot.adapters.database import Database
from teambot.adapters.effects import after_commit
from teambot.data import matches
from teambot.metrics import Metrics
from teambot.services.matching import visibility_pairs

log = logger.bind(actor="matcher")


class Matcher:
    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        bot: Bot,
        metrics: Metrics,
        *,
        delay: float,
        buffer: int = 1000,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.bot = bot
        self.metrics = metrics
        self.delay = delay
        # The stream outlives a crashed run: events sent meanwhile wait for the restart.
        self._events, self._inbox = anyio.create_memory_object_stream[int](buffer)

    def profile_changed(self, user_id: int) -> None:
        """Noted once the change has committed (the matcher reads what is committed)."""
        after_commit(partial(self._note, user_id))

    def _note(self, user_id: int) -> None:
        try:
            self._events.send_nowait(user_id)
        except anyio.WouldBlock:
            log.warning("matcher is behind: no digest for the change of user {}", user_id)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            changed = {await self._inbox.receive()}
            with anyio.move_on_after(self.delay):
                while True:
                    changed.add(await self._inbox.receive())
            try:
                self.metrics.digests_sent.inc(await self.notify(sorted(changed)))
            except TRANSIENT as exc:
                # a digest is a courtesy: not worth a restart while the database is away
                log.warning("no digests for {} changes: {!r}", len(changed), exc)
                self.metrics.digest_runs.labels("failed").inc()
            else:
                self.metrics.digest_runs.labels("ok").inc()

    async def notify(self, changed: list[int]) -> int:
        """Send the digests this batch of changes earns (claimed with them, in one unit of
        work); returns how many."""
        async with self.outbox.unit():
            digests = await self.database.run(matches.claim_digests, changed, visibility_pairs())
            for digest in digests:
                await notices.digest(self.bot, digest.user_id, digest.language, digest.new_matches)
        if digests:
            log.info("{} changed profiles: {} digests", len(changed), len(digests))
        return len(digests)
