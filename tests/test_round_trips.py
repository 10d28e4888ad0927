"""What one update costs the database: the common paths (/start for a registered person,
/search, Next, sending an invitation, accepting one) each run in one transaction (their
sent-marks are written apart, by the outbox's group-commit writer, for many updates at
once) and at most 5 round trips to PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import pytest

from teambot.actors.pipeline.work import Work
from teambot.adapters.database import UnitConnection
from teambot.config import Settings
from teambot.runtime import App, build_app, serve
from teambot.texts import text
from tests.conftest import RUNNING
from tests.fake_telegram import FakeTelegram
from tests.round_trips import exchanges
from tests.test_conversations import settle
from tests.test_teams import seed

pytestmark = pytest.mark.anyio

ROUND_TRIPS = 5


@dataclass
class Cost:
    transactions: int = 0
    round_trips: int = 0


_cost: ContextVar[Cost | None] = ContextVar("cost", default=None)


class CountingConnection(UnitConnection):
    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        cost = _cost.get()
        if cost is not None:
            cost.round_trips += exchanges(self, gen)
        return super().wait(gen, *args, **kwargs)

    def commit(self) -> None:
        self._count_transaction()
        super().commit()

    def rollback(self) -> None:
        self._count_transaction()
        super().rollback()

    def _count_transaction(self) -> None:
        cost = _cost.get()
        if cost is not None and self.in_unit:
            cost.transactions += 1


@asynccontextmanager
async def counting(settings: Settings) -> AsyncIterator[tuple[App, dict[int, Cost]]]:
    """The whole bot, as `running` starts it, counting the database work of each update's
    handling, by update id."""
    app = build_app(settings, settings.database_conninfo() or "")
    costs: dict[int, Cost] = {}
    app.database.connection_class = CountingConnection
    dispatch = app.pipeline.dispatch
    handle: Callable[[Work], Awaitable[None]] = dispatch._handle

    async def counted(work: Work) -> None:
        cost = costs.setdefault(work.pending.update_id, Cost())
        token = _cost.set(cost)
        try:
            await handle(work)
        finally:
            _cost.reset(token)

    dispatch._handle = counted

    # The first reads are made by their own actor, for many updates at once; here updates
    # come one at a time, and each one's is counted as its own.
    reads = app.pipeline.reads
    read_batch = reads._read
    current: dict[int, Cost] = {}

    async def counted_reads(batch: list[Any]) -> None:
        cost = Cost()
        token = _cost.set(cost)
        try:
            await read_batch(batch)
        finally:
            _cost.reset(token)
            for request in batch:
                current[request.sender.id].round_trips += cost.round_trips

    async def counted_with_reads(work: Work) -> None:
        if work.user is not None:
            current[work.user.id] = costs.setdefault(work.pending.update_id, Cost())
        await counted(work)

    reads._read = counted_reads  # type: ignore[method-assign]
    dispatch._handle = counted_with_reads
    async with anyio.create_task_group() as tg:
        await tg.start(partial(serve, app, handle_signals=False))
        RUNNING.append(app)
        try:
            yield app, costs
        finally:
            RUNNING.remove(app)
            app.supervisor.request_stop()


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_the_common_paths_take_one_transaction_and_few_round_trips(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 10, role="team", lang=lang, name="Olga", team="Rocket", wants=("python",))
    seed(url, 11, role="team", lang=lang, name="Petr", team="Comet", wants=("python",))
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    seed(url, 2, lang=lang, name="Anna", skills=("python",), wants=("design",))
    paths: dict[str, int] = {}

    async def step(name: str, update_id: int) -> None:
        await telegram.wait_confirmed(update_id)
        await settle(telegram)
        paths[name] = update_id

    async with counting(settings) as (app, costs):
        await step("/start", telegram.send_text(1, "/start", language_code=lang))
        await step("/search", telegram.send_text(10, "/search", language_code=lang))
        await step("Next", telegram.press(10, text(lang, "action_next")))
        await step("Invite", telegram.press(10, text(lang, "action_invite")))
        await step("invitation", telegram.press(10, text(lang, "send_without_note")))
        await step("accept", telegram.press(1, text(lang, "action_accept")))
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert failed == 0
    print()
    for name, update_id in paths.items():
        cost = costs[update_id]
        print(f"{name:12} {cost.transactions} transactions, {cost.round_trips} round trips")
    for name, update_id in paths.items():
        cost = costs[update_id]
        assert cost.transactions == 1, (name, cost)
        assert cost.round_trips <= ROUND_TRIPS, (name, cost)
