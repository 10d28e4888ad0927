"""Leadership: of several instances of one bot on one database, one leads. The leader takes
the updates (polls Telegram, or reads the webhook inbox), sends the messages and runs the
cleanup jobs, the matcher and broadcasts: the actors given here, under a supervisor of
their own. The others stand by: they answer the probes and, in webhook mode, store what
Telegram posts to them for the leader; one of them takes over within a few seconds of the
leader's database session ending, or of its lease going stale (a leader frozen, or cut off
from the network): `adapters/leader_lock.py`, which also explains the fence that keeps a
replaced leader from sending or committing anything when it thaws.

Why one instance does the work instead of all of them sharing it: Telegram's flood limits
(30 messages a second per bot, one a second per chat) hold for the bot as a whole, a
person's updates must be handled in order, and each job must run once. With one leader all
three hold by construction, with no protocol between instances beyond PostgreSQL's lock.
The price: a second instance adds availability (failover, rolling upgrades), not capacity.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
from anyio.abc import TaskStatus
from loguru import logger

from teambot.adapters.leader_lock import CHECK_EVERY, RENEW_EVERY, LeaderLock, leading
from teambot.health import Health
from teambot.metrics import Metrics
from teambot.supervisor import ChildSpec, Supervisor

log = logger.bind(actor="leadership")


class Leadership:
    def __init__(
        self,
        lock: LeaderLock,
        children: list[ChildSpec],
        health: Health,
        metrics: Metrics,
        *,
        intensity: int,
        period: float,
        on_restart: Callable[[str], None] | None = None,
        check_every: float = CHECK_EVERY,
        renew_every: float = RENEW_EVERY,
        leading_status: str = "leading",
        on_lead: Callable[[], None] = lambda: None,
    ) -> None:
        self.leading_status = leading_status
        self.on_lead = on_lead  # told when this instance takes the lead, before its actors
        self.lock = lock
        self.children = children
        self.health = health
        self.metrics = metrics
        self.intensity = intensity
        self.period = period
        self.on_restart = on_restart
        self.check_every = check_every  # a standby looks at the lock and the lease
        self.renew_every = renew_every  # the leader renews its lease
        self._stopping = False
        self._stop_requested = anyio.Event()
        self._supervisor: Supervisor | None = None

    def request_stop(self) -> None:
        self._stopping = True
        self._stop_requested.set()
        if self._supervisor is not None:
            self._supervisor.request_stop()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Reports started once this instance leads with its actors running, or once it
        found another instance leading: either way it is doing what it should."""
        started = _Once(task_status)
        standing_by = False
        while not self._stopping:
            acquired = await self.lock.try_acquire()
            if self.lock.took_over is not None:
                holder, age, ended, took = self.lock.took_over
                self.lock.took_over = None
                log.warning(
                    "the leader {} has not renewed its lease for {:.1f} s: ended its {}"
                    " sessions in {:.2f} s",
                    holder,
                    age,
                    ended,
                    took,
                )
            if acquired:
                standing_by = False
                self.on_lead()
                try:
                    await self._lead(started)
                finally:
                    self._set_leader(False)
                    with anyio.CancelScope(shield=True):
                        await self.lock.release()
                continue
            if not standing_by:
                standing_by = True
                log.info("standing by: another instance leads")
                self.health.set_status("standing by: another instance leads")
            started.started()
            with anyio.move_on_after(self.check_every):
                await self._stop_requested.wait()

    async def _lead(self, started: _Once) -> None:
        log.info("leading: this instance ({}) takes the updates", self.lock.name)
        self._set_leader(True)
        self.health.set_status(self.leading_status)
        supervisor = self._supervisor = Supervisor(
            self.children,
            intensity=self.intensity,
            period=self.period,
            on_restart=self.on_restart,
        )
        # the actors started below (their tasks copy this context) ask the lease before
        # each Bot API call (adapters/telegram.py)
        token = leading.set(self.lock.lease)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch_lock, tg.cancel_scope)
                if self._stopping:  # asked to stop while taking the lock
                    supervisor.request_stop()
                await supervisor.run(task_status=started)
                tg.cancel_scope.cancel()
        finally:
            leading.reset(token)
            self._supervisor = None

    async def _watch_lock(self, scope: anyio.CancelScope) -> None:
        while True:
            await anyio.sleep(self.renew_every)
            if not await self.lock.renew():
                # another instance may lead already: stop at once, not gracefully. A
                # warning: the failover is doing its job (the new leader says so too)
                log.warning(
                    "lost the lead (the lease was taken over, or its database session"
                    " ended): stepping down"
                )
                scope.cancel()
                return

    def _set_leader(self, leader: bool) -> None:
        self.health.leader = leader
        self.metrics.leader.set(leader)


class _Once:
    """Passes the first `started()` on to the task status, ignores the rest."""

    def __init__(self, task_status: TaskStatus[None]) -> None:
        self._task_status = task_status
        self._done = False

    def started(self, value: None = None) -> None:
        if not self._done:
            self._done = True
            self._task_status.started()
