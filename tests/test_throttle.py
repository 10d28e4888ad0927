"""The per-user throttle, as people and scripts meet it: a quick registration with many
taps is never slowed down, a script's burst of messages is (told once), a throttled press
is answered at once with the wait, and the notice goes out ahead of paced replies stating
the wait left when it is sent."""

from __future__ import annotations

import re
import threading
import time

import anyio
import pytest
from aiogram.types import Update

from teambot.actors.pipeline.ledger import PendingUpdate
from teambot.actors.pipeline.throttle import Throttle
from teambot.actors.pipeline.work import Work
from teambot.config import ConfigError, Settings, load_settings
from teambot.metrics import Metrics
from teambot.runtime import App
from teambot.services.skills import CURATED
from tests.conftest import all_handled, make_settings, running
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.anyio

NOTICE = {
    "en": re.compile(r"^Slow down a little: try again in (\d+) s\.$"),
    "ru": re.compile(r"^Слишком часто: попробуйте снова через (\d+) с\.$"),
}


def production_settings(telegram: FakeTelegram, database_url: str, **overrides: object) -> Settings:
    """The shipped budgets (conftest raises them for the other conversation tests)."""
    defaults = Settings.model_fields
    values: dict[str, object] = {
        "rate_limit_requests_per_minute": defaults["rate_limit_requests_per_minute"].default,
        "rate_limit_presses_per_minute": defaults["rate_limit_presses_per_minute"].default,
        "rate_limit_window_seconds": defaults["rate_limit_window_seconds"].default,
    }
    values.update(overrides)
    return make_settings(telegram, database_url, **values)


def throttled_count(app: App) -> float:
    return app.metrics.registry.get_sample_value("teambot_updates_throttled_total") or 0.0


async def settle(telegram: FakeTelegram) -> None:
    await telegram.wait_until(lambda: all_handled(telegram), what="all handled")
    await telegram.wait_until(lambda: not telegram.unanswered_callbacks, what="presses answered")


def notices(telegram: FakeTelegram, chat: int, lang: str = "en") -> list[str]:
    said = [m.text for m in telegram.messages(chat)]
    answered = [answer for _, answer, _ in telegram.callback_answers if answer]
    return [t for t in said + answered if NOTICE[lang].match(t)]


async def test_a_quick_registration_with_many_taps_and_commands_is_never_throttled(
    telegram: FakeTelegram, database_url: str
) -> None:
    user = 1
    async with running(production_settings(telegram, database_url)) as app:

        def tap(message_id: int, data: str) -> None:
            telegram.press_button(user, message_id, data)

        telegram.send_text(user, "/start")
        await telegram.wait_for_messages(user, 1)
        telegram.press(user, "English")
        await settle(telegram)
        telegram.press(user, "Participant")
        await settle(telegram)
        telegram.send_text(user, "Ann Lee")
        await settle(telegram)
        # as fast as the bot takes them: every tag, a change of mind on three, Done
        for field, done in (("skills", "Done ✓"), ("looking_for", "Done ✓")):
            tags = telegram.last_message(user)
            for tag in [*CURATED[:10], *CURATED[:3], *CURATED[:3]]:
                tap(tags.message_id, f"tag:{field}:{tag}")
            tap(tags.message_id, tags.callback_data(done) or "")
            await settle(telegram)
        telegram.press(user, "Skip")
        await settle(telegram)
        telegram.press(user, "Finish later ⏭")
        await settle(telegram)
        telegram.press(user, "Confirm ✓")
        await settle(telegram)
        for command in ("/search", "/profile", "/invitations", "/team", "/help", "/search go"):
            telegram.send_text(user, command)
        await settle(telegram)
        presses = len(telegram.callback_answers)
        assert presses >= 38  # the registration really was tap-heavy
        assert notices(telegram, user) == []
        assert throttled_count(app) == 0
    assert telegram.messages(user)[-1].text  # the last command was answered


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_burst_of_30_messages_is_throttled_and_told_once(
    telegram: FakeTelegram, database_url: str, lang: str
) -> None:
    async with running(production_settings(telegram, database_url)) as app:
        sent_at = time.monotonic()
        for _ in range(30):
            telegram.send_text(1, "/help", language_code=lang)
        telegram.send_text(2, "/help")  # someone else is not slowed down
        await telegram.wait_for_messages(2, 1)
        await settle(telegram)
        assert throttled_count(app) == 10
    replies = [m.text for m in telegram.messages(1)]
    [notice] = [t for t in replies if NOTICE[lang].match(t)]
    assert len(replies) == 21
    assert len(set(replies) - {notice}) == 1  # twenty times /help
    seconds = int(NOTICE[lang].match(notice).group(1))  # type: ignore[union-attr]
    [call] = [c for c in telegram.calls_of("sendMessage") if c.params["text"] == notice]
    # the window opened at the first message at the earliest
    assert 60 - (call.at - sent_at) <= seconds <= 60


async def test_a_throttled_press_is_answered_at_once_with_the_wait_not_with_a_message(
    telegram: FakeTelegram, database_url: str
) -> None:
    settings = production_settings(telegram, database_url, rate_limit_presses_per_minute=3)
    async with running(settings) as app:
        telegram.send_text(1, "/language")
        [menu] = await telegram.wait_for_messages(1, 1)
        data = menu.callback_data("English") or ""
        for _ in range(6):
            telegram.press_button(1, menu.message_id, data)
        await settle(telegram)
        assert throttled_count(app) == 3
    answers = [answer for _, answer, _ in telegram.callback_answers]
    assert len(answers) == 6  # every press, once
    waits = [a for a in answers if a and NOTICE["en"].match(a)]
    assert len(waits) == 3  # each throttled press hears the wait, not just the first
    assert all(50 <= int(NOTICE["en"].match(w).group(1)) <= 60 for w in waits)  # type: ignore[union-attr]
    assert notices(telegram, 1, "en") == waits  # and no chat message says it


async def test_the_notice_overtakes_paced_replies_and_states_the_wait_left_then(
    telegram: FakeTelegram, database_url: str
) -> None:
    # Telegram lets a private chat have about one message a second: six replies take
    # seconds to go out, and the notice must not wait behind them
    settings = production_settings(
        telegram, database_url, rate_limit_requests_per_minute=6, flood_control=True
    )
    async with running(settings):
        sent_at = time.monotonic()
        for _ in range(10):
            telegram.send_text(1, "/help")
        await telegram.wait_for_messages(1, 7, timeout=30)
    replies = [m.text for m in telegram.messages(1)]
    [notice] = [t for t in replies if NOTICE["en"].match(t)]
    assert replies.index(notice) < 6  # ahead of the last paced reply
    seconds = int(NOTICE["en"].match(notice).group(1))  # type: ignore[union-attr]
    [call] = [c for c in telegram.calls_of("sendMessage") if c.params["text"] == notice]
    assert 60 - (call.at - sent_at) <= seconds <= 60


def pending(update_id: int, *, press: bool = False) -> PendingUpdate:
    sender = {"id": 7, "is_bot": False, "first_name": "S"}
    chat = {"id": 7, "type": "private"}
    kind = (
        {
            "callback_query": {
                "id": str(update_id),
                "from": sender,
                "chat_instance": "1",
                "data": "x",
            }
        }
        if press
        else {"message": {"message_id": update_id, "date": 0, "chat": chat, "from": sender}}
    )
    return PendingUpdate(update_id, Update.model_validate({"update_id": update_id, **kind}))


async def test_the_wait_is_read_when_the_notice_goes_out_and_the_window_reopens() -> None:
    throttle = Throttle(messages=2, presses=3, window_seconds=2, metrics=Metrics())
    works = [throttle.check(pending(n)) for n in range(3)]
    assert [w.throttled is None for w in works] == [True, True, False]
    over = works[2].throttled
    assert over is not None and over.tell
    assert works[2].key != works[0].key  # not queued behind the sender's own updates
    # presses have a budget of their own
    assert all(throttle.check(pending(n, press=True)).throttled is None for n in range(10, 13))
    press = throttle.check(pending(13, press=True)).throttled
    assert press is not None and press.tell
    # a second dropped message is not told again; every dropped press is
    told_again = throttle.check(pending(3)).throttled
    assert told_again is not None and not told_again.tell
    assert throttle.check(pending(14, press=True)).throttled.tell  # type: ignore[union-attr]
    assert over.seconds_left() == 2
    await anyio.sleep(1.05)
    assert over.seconds_left() == 1  # asked later, it says less
    await anyio.sleep(1.05)
    assert throttle.check(pending(4)).throttled is None  # the window reopened


async def test_a_burst_starts_no_threads_and_old_hits_are_forgotten_once_a_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stock limits' memory storage armed a timer thread on almost every hit of a burst,
    each start holding the event loop: the whole pipeline waited behind the throttle."""
    throttle = Throttle(messages=20, presses=60, window_seconds=1, metrics=Metrics())
    started: list[str] = []
    start = threading.Thread.start

    def counted(thread: threading.Thread) -> None:
        if isinstance(thread, threading.Timer):  # not the sweep's worker thread
            started.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)
    async with anyio.create_task_group() as tg:
        send, receive = anyio.create_memory_object_stream[PendingUpdate](1000)
        out_send, out_receive = anyio.create_memory_object_stream[Work](1000)
        await tg.start(throttle.run, receive, out_send)
        for n in range(200):
            await send.send(pending(n))
            if n % 20 == 0:
                await anyio.sleep(0.011)  # past the stock timer's 10 ms
        assert started == []
        passed = [await out_receive.receive() for _ in range(200)]
        assert sum(w.throttled is None for w in passed) == 20
        assert throttle._storage.events  # the window's hits, kept
        await anyio.sleep(2.2)  # a sweep after the window has passed
        assert not any(throttle._storage.events.values())
        assert throttle.check(pending(600)).throttled is None
        await send.aclose()
        await out_receive.aclose()


def test_a_presses_budget_out_of_range_is_one_clear_line() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(require_token=False, rate_limit_presses_per_minute=0, _env_file=None)
    assert refused.value.problems == [
        "RATE_LIMIT_PRESSES_PER_MINUTE: Input should be greater than or equal to 1"
    ]
