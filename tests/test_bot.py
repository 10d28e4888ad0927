"""The whole bot in this process, against the fake Bot API and a real PostgreSQL, on both
anyio backends: answers, per-user order, confirmation and failures (the throttle:
tests/test_throttle.py)."""

from __future__ import annotations

import random
from typing import Any

import anyio
import psycopg
import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from psycopg.types.json import Jsonb

from teambot.actors.pipeline import poller
from teambot.config import Settings
from tests.conftest import running
from tests.fake_telegram import FakeTelegram
from tests.test_conversations import settle

pytestmark = pytest.mark.anyio


async def test_help_is_answered_in_the_users_language(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        telegram.send_text(1, "/help", language_code="en")
        telegram.send_text(2, "/help", language_code="ru-RU")
        [english] = await telegram.wait_for_messages(1, 1)
        [russian] = await telegram.wait_for_messages(2, 1)
    assert english.text.startswith("/start — register")
    assert russian.text.startswith("/start — регистрация")
    assert "/team" in english.text and "/team" in russian.text


async def test_a_persons_row_follows_their_telegram_name_and_is_written_only_when_it_changes(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = settings.database_conninfo() or ""

    def row() -> tuple[object, ...]:
        with psycopg.connect(url) as conn:
            found = conn.execute(
                "select username, first_name, last_name, last_active, xmin::text::bigint"
                " from users where id = 1"
            ).fetchone()
        assert found is not None
        return tuple(found)

    async def help_(**person: str) -> None:
        telegram.send_text(1, "/help", **person)
        await settle(telegram)

    async with running(settings):
        await help_(username="ivan", first_name="Ivan")
        first = row()
        await help_(username="ivan", first_name="Ivan")
        assert row() == first  # nothing new: the row was not written again
        await help_(username="ivan_new", first_name="Ivan", last_name="Petrov")
        renamed = row()
        assert renamed[:3] == ("ivan_new", "Ivan", "Petrov")
        assert renamed[3] == first[3]  # active within the minute: the same moment
        with psycopg.connect(url) as conn:
            conn.execute("update users set last_active = now() - interval '2 days' where id = 1")
        await help_(username="ivan_new", first_name="Ivan", last_name="Petrov")
        back = row()
        assert back[:3] == renamed[:3] and back[3] > first[3]  # active again: now
    assert [m.text.startswith("/start") for m in telegram.messages(1)] == [True] * 4


async def test_command_menu_is_published_in_both_languages(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        pass
    languages = sorted(
        str(call.params.get("language_code", "")) for call in telegram.calls_of("setMyCommands")
    )
    assert languages == ["", "ru"]
    menu = telegram.calls_of("setMyCommands")[0].params["commands"]
    assert [c["command"] for c in menu][:3] == ["start", "search", "profile"]


def echo_router(concurrency: list[int]) -> Router:
    """A handler slow enough, at random, that unordered handling would show."""
    router = Router(name="echo")
    active = [0]

    @router.message(Command("echo"))
    async def echo(message: Message) -> None:
        active[0] += 1
        concurrency.append(active[0])
        await anyio.sleep(random.uniform(0, 0.03))
        active[0] -= 1
        await message.answer(f"echo {(message.text or '').split()[-1]}")

    return router


async def test_each_users_updates_are_handled_in_order_and_users_in_parallel(
    telegram: FakeTelegram, settings: Settings
) -> None:
    concurrency: list[int] = []
    users = range(1, 9)
    async with running(settings, echo_router(concurrency)):
        for n in range(15):
            for user in users:
                telegram.send_text(user, f"/echo {n}")
        replies = {user: await telegram.wait_for_messages(user, 15) for user in users}
    for user in users:
        assert [m.text for m in replies[user]] == [f"echo {n}" for n in range(15)]
    assert max(concurrency) > 1  # different users did run side by side


def stale_router(entered: anyio.Event, gate: anyio.Event, calls: list[str]) -> Router:
    router = Router(name="stale")

    @router.message(Command("remember"))
    async def remember(message: Message, state: FSMContext) -> None:
        await state.set_state("remembered")
        await message.answer("remembered")

    @router.message(Command("language_now"))
    async def language_now(message: Message, lang: str, state: FSMContext) -> None:
        calls.append(lang)
        if len(calls) == 1:
            entered.set()
            await gate.wait()
        await state.update_data(calls=len(calls))
        await message.answer(f"{lang} {len(calls)}")

    return router


@pytest.mark.parametrize("changed", ["person", "dialogue"])
async def test_an_update_whose_first_read_went_out_of_date_is_handled_again(
    telegram: FakeTelegram, settings: Settings, changed: str
) -> None:
    """The person's row and dialogue are read before the update's transaction, for many
    updates at once; changed before that transaction began (here by an admin's tool while
    the handler ran), the update is handled again from what is there now, and only that
    handling's answer goes out."""
    url = settings.database_conninfo() or ""
    entered, gate, calls = anyio.Event(), anyio.Event(), []
    async with running(settings, stale_router(entered, gate, calls)) as app:
        telegram.send_text(1, "/remember", language_code="en")
        await settle(telegram)
        telegram.send_text(1, "/language_now", language_code="en")
        await entered.wait()
        with psycopg.connect(url) as conn:
            if changed == "person":
                conn.execute("update users set language = 'ru' where id = 1")
            else:  # the only dialogue there is: theirs
                conn.execute('update fsm_states set data = \'{"note": "x"}\'')
        gate.set()
        await settle(telegram)
        again = app.metrics.registry.get_sample_value("teambot_updates_read_again_total")
    assert again == 1  # an operator sees how often it happens
    answers = [m.text for m in telegram.messages(1)][1:]
    if changed == "person":
        assert calls == ["en", "ru"] and answers == ["ru 2"]
    else:
        assert calls == ["en", "en"] and answers == ["en 2"]


async def test_a_burst_reads_many_people_in_one_statement(
    telegram: FakeTelegram, settings: Settings
) -> None:
    people = range(1, 41)
    async with running(settings) as app:
        reads = app.pipeline.reads
        read = reads._read
        batches: list[int] = []

        async def counted(batch: list[Any]) -> None:
            batches.append(len(batch))
            await read(batch)

        reads._read = counted  # type: ignore[method-assign]
        for person in people:
            telegram.send_text(person, "/help")
        for person in people:
            await telegram.wait_for_messages(person, 1)
    assert sum(batches) == len(people)
    assert len(batches) < len(people) / 2, batches


async def test_a_burst_of_updates_that_only_answer_commits_in_a_few_transactions(
    telegram: FakeTelegram, settings: Settings
) -> None:
    """A /help of someone the bot knows reads nothing beyond its first read: its whole
    transaction is what the COMMIT carries, and those that come while one is on its way
    commit together. Every person still gets one answer, and every update its own handled
    mark. (Someone new is created by their update's transaction: it commits alone.)"""
    people = range(1, 41)
    async with running(settings):
        for person in people:
            telegram.send_text(person, "/help")
        for person in people:
            await telegram.wait_for_messages(person, 1)
        burst = [telegram.send_text(person, "/help") for person in people]
        for person in people:
            await telegram.wait_for_messages(person, 2)
        await settle(telegram)
    assert all(len(telegram.messages(person)) == 2 for person in people)
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        row = conn.execute(
            "select count(*), count(distinct xmin::text) from handled_updates"
            " where update_id = any(%s)",
            (burst,),
        ).fetchone()
    assert row is not None
    marks, transactions = row
    assert marks == len(people)
    assert transactions < len(people) / 2, transactions


def inbox_ids(settings: Settings) -> list[int]:
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        rows = conn.execute("select update_id from inbox order by update_id").fetchall()
    return [row[0] for row in rows]


def gate_router(gate: anyio.Event) -> Router:
    router = Router(name="gate")

    @router.message(Command("slow"))
    async def slow(message: Message) -> None:
        await gate.wait()
        await message.answer("done")

    return router


async def test_updates_are_confirmed_once_stored_and_kept_until_handled(
    telegram: FakeTelegram, settings: Settings
) -> None:
    gate = anyio.Event()
    async with running(settings, gate_router(gate)):
        slow_id = telegram.send_text(1, "/slow")
        for user in range(2, 6):
            telegram.send_text(user, "/help")
        for user in range(2, 6):
            await telegram.wait_for_messages(user, 1)
        # Telegram was told of all five; the slow one waits in the inbox, not on Telegram
        await telegram.wait_until(lambda: telegram.confirmed_offset > slow_id + 4)
        assert inbox_ids(settings) == [slow_id]
        gate.set()
        await telegram.wait_for_messages(1, 1)
        await telegram.wait_confirmed(slow_id)
        assert inbox_ids(settings) == []
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        row = conn.execute("select count(*) from handled_updates").fetchone()
    assert row == (5,)


async def test_an_update_in_hand_does_not_hold_back_a_burst_beyond_telegrams_batch(
    telegram: FakeTelegram, settings: Settings
) -> None:
    # getUpdates hands out at most 100 updates past the last one confirmed: a bot that
    # confirmed only what it had handled took no more than 100 past a slow one
    gate = anyio.Event()
    async with running(settings, gate_router(gate)):
        telegram.send_text(1, "/slow")
        others = range(2, 252)
        for user in others:
            telegram.send_text(user, "/help")
        for user in others:
            await telegram.wait_for_messages(user, 1, timeout=30)
        assert telegram.messages(1) == []  # still in hand
        gate.set()
        [done] = await telegram.wait_for_messages(1, 1)
    assert done.text == "done"


async def test_updates_stored_before_a_crash_are_handled_first_after_the_start(
    telegram: FakeTelegram, settings: Settings
) -> None:
    gate = anyio.Event()
    async with running(settings, gate_router(gate)):
        slow_id = telegram.send_text(1, "/slow")
        await telegram.wait_until(lambda: telegram.confirmed_offset > slow_id)
        # the stop waits for it no longer than its grace; what is left stays stored
    assert inbox_ids(settings) == [slow_id]
    assert telegram.messages(1) == []
    gate.set()
    async with running(settings, gate_router(gate)):
        [done] = await telegram.wait_for_messages(1, 1)
        await telegram.wait_until(lambda: inbox_ids(settings) == [], what="inbox drained")
    assert done.text == "done"
    assert telegram.pending_update_count == 0


async def test_an_update_another_instance_stored_and_left_is_handled_without_a_restart(
    telegram: FakeTelegram, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an instance that stored a batch and lost the lead before handling it
    monkeypatch.setattr(poller, "LEFTOVERS_EVERY_SECONDS", 0.5)
    async with running(settings):
        telegram.send_text(5, "/help")
        await telegram.wait_for_messages(5, 1)
        body = {
            "update_id": 10**9,
            "message": {
                "message_id": 77,
                "date": 0,
                "chat": {"id": 6, "type": "private", "first_name": "A"},
                "from": {"id": 6, "is_bot": False, "first_name": "A", "language_code": "ru"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        stored = "insert into inbox (update_id, body) values (%s, %s)"
        with psycopg.connect(settings.database_conninfo() or "") as conn:
            conn.execute(stored, (body["update_id"], Jsonb(body)))
        [left] = await telegram.wait_for_messages(6, 1)
        await telegram.wait_until(lambda: inbox_ids(settings) == [], what="inbox drained")
    assert left.text.startswith("/start — регистрация")


async def test_a_button_press_answered_too_late_still_does_what_it_asked(
    telegram: FakeTelegram, settings: Settings
) -> None:
    # handled again after a restart, or after waiting out a database outage: Telegram
    # refuses the late answer, and the press must still take effect without an apology
    async with running(settings):
        telegram.send_text(1, "/language", language_code="ru")
        await telegram.wait_for_messages(1, 1)
        telegram.press(1, "English")
        telegram.expire_callback_queries()
        await telegram.wait_until(lambda: telegram.messages(1)[0].text == "Language: English.")
        telegram.send_text(1, "/help")
        [_, help_text] = await telegram.wait_for_messages(1, 2)
    assert help_text.text.startswith("/start — register")


async def test_a_failing_handler_apologises_and_the_bot_goes_on(
    telegram: FakeTelegram, settings: Settings
) -> None:
    router = Router(name="broken")

    @router.message(Command("boom"))
    async def boom(message: Message) -> None:
        raise ZeroDivisionError("bug")

    async with running(settings, router):
        bad = telegram.send_text(1, "/boom", language_code="ru")
        telegram.send_text(1, "/help", language_code="ru")
        first, second = await telegram.wait_for_messages(1, 2)
        await telegram.wait_confirmed(bad + 1)
    assert first.text == "Извините, у меня что-то пошло не так. Попробуйте ещё раз."
    assert second.text.startswith("/start — регистрация")


async def test_a_crashed_pipeline_restarts_and_loses_nothing(
    telegram: FakeTelegram, settings: Settings
) -> None:
    router = Router(name="echo")
    crashed = False

    @router.message(Command("echo"))
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    async with running(settings, router) as app:
        original = app.pipeline.throttle.check

        def crash_once(pending):  # type: ignore[no-untyped-def]
            nonlocal crashed
            if not crashed and pending.update_id % 7 == 0:
                crashed = True
                raise RuntimeError("throttle bug")
            return original(pending)

        app.pipeline.throttle.check = crash_once  # type: ignore[method-assign]
        for n in range(40):
            telegram.send_text(100 + n, f"/echo {n}")
        for n in range(40):
            # at least once: an update cut short by the crash may be answered twice
            replies = await telegram.wait_for_messages(100 + n, 1, timeout=15)
            assert {reply.text for reply in replies} == {f"/echo {n}"}
    assert crashed
