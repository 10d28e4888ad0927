"""Faults: the database or the Bot API misbehaving during a burst loses no update."""

from __future__ import annotations

import anyio
import psycopg
import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from teambot.adapters.database import TRANSIENT_ERRORS
from teambot.config import Settings
from tests.conftest import running
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.anyio

USERS = range(1, 11)


def echo_router() -> Router:
    router = Router(name="echo")

    @router.message(Command("echo"))
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    return router


async def every_update_answered(telegram: FakeTelegram, per_user: int) -> None:
    """At least once, in order: a message whose sent-mark the outage kept from being written
    may go twice, an update is never skipped. (Counting messages would stop at a duplicate
    before the last answer came.)"""
    for user in USERS:

        def answers(user: int = user) -> list[str | None]:
            return list(dict.fromkeys(m.text for m in telegram.messages(user)))

        await telegram.wait_until(
            lambda: len(answers()) >= per_user, timeout=60, what=f"every answer to {user}"
        )
        assert answers() == [f"/echo {user}-{n}" for n in range(per_user)]


async def test_database_outage_during_a_burst_loses_nothing(
    telegram: FakeTelegram, settings: Settings
) -> None:
    conninfo = settings.database_conninfo() or ""
    dbname = psycopg.conninfo.conninfo_to_dict(conninfo)["dbname"]
    maintenance = psycopg.conninfo.make_conninfo(conninfo, dbname="postgres")
    async with running(settings, echo_router()) as app:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f"alter database {dbname} with allow_connections false")
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (dbname,),
            )
        try:
            last = 0
            for n in range(3):
                for user in USERS:
                    last = telegram.send_text(user, f"/echo {user}-{n}")
            await anyio.sleep(2)
            answered_during_outage = sum(len(telegram.messages(user)) for user in USERS)
            with pytest.raises(TRANSIENT_ERRORS):
                await app.database.ping(timeout=1)  # what /readyz asks: not ready
        finally:
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(f"alter database {dbname} with allow_connections true")
        await every_update_answered(telegram, 3)
        await telegram.wait_confirmed(last, timeout=30)
    assert answered_during_outage == 0


@pytest.mark.parametrize("kind", ["500", "502", "malformed", "reset", "429"])
async def test_bot_api_faults_are_retried_and_lose_nothing(
    telegram: FakeTelegram, settings: Settings, kind: str
) -> None:
    async with running(settings, echo_router()):
        telegram.inject_fault("getUpdates", kind, times=2)
        telegram.inject_fault("sendMessage", kind, times=5)
        for n in range(2):
            for user in USERS:
                telegram.send_text(user, f"/echo {user}-{n}")
        await every_update_answered(telegram, 2)
    getupdates = len(telegram.calls_of("getUpdates"))
    assert getupdates < 50  # backoff, not a tight loop
