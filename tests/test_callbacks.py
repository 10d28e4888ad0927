"""Button presses get exactly one answer: a handler that fails after answering still reaches
the person (its apology becomes a chat message), one that fails before answering apologises
in the press's answer. (The fake Bot API refuses a second answer to one press as Telegram
does: tests/test_fake_telegram.py.)"""

from __future__ import annotations

import pytest
from aiogram import F, Router
from aiogram.types import CallbackQuery

from teambot.config import Settings
from tests.conftest import running
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.anyio

APOLOGY = {
    "en": "Sorry, something went wrong on my side. Please try again.",
    "ru": "Извините, у меня что-то пошло не так. Попробуйте ещё раз.",
}


def broken_buttons() -> Router:
    router = Router(name="broken_buttons")

    @router.callback_query(F.data == "answers_then_fails")
    async def answers_then_fails(query: CallbackQuery) -> None:
        await query.answer("Working on it")
        raise ZeroDivisionError("bug after the answer")

    @router.callback_query(F.data == "fails_first")
    async def fails_first(query: CallbackQuery) -> None:
        raise ZeroDivisionError("bug before any answer")

    return router


async def press_and_wait(telegram: FakeTelegram, user: int, data: str, lang: str) -> None:
    telegram.send_text(user, "/help", language_code=lang)
    [help_message] = await telegram.wait_for_messages(user, 1)
    update = telegram.press_button(user, help_message.message_id, data, language_code=lang)
    await telegram.wait_confirmed(update)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_handler_failing_after_its_answer_apologises_with_a_message(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    async with running(settings, broken_buttons()):
        await press_and_wait(telegram, 1, "answers_then_fails", lang)
        [_, apology] = await telegram.wait_for_messages(1, 2)
    assert apology.text == APOLOGY[lang]
    assert [answer for _, answer, _ in telegram.callback_answers] == ["Working on it"]
    refused = [c for c in telegram.calls_of("answerCallbackQuery") if c.status != 200]
    assert refused == []  # no second answer was even tried


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_handler_failing_before_answering_apologises_in_the_answer(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    async with running(settings, broken_buttons()):
        await press_and_wait(telegram, 1, "fails_first", lang)
        await telegram.wait_until(lambda: bool(telegram.callback_answers))
    assert [answer for _, answer, _ in telegram.callback_answers] == [APOLOGY[lang]]
    assert len(telegram.messages(1)) == 1  # /help's answer, no apology message beside it
    assert telegram.unanswered_callbacks == []


async def test_a_press_too_old_to_answer_gets_the_apology_as_a_message(
    telegram: FakeTelegram, settings: Settings
) -> None:
    router = Router(name="late")

    @router.callback_query(F.data == "late_failure")
    async def late_failure(query: CallbackQuery) -> None:
        telegram.expire_callback_queries()  # the handler took longer than Telegram waits
        raise ZeroDivisionError("bug")

    async with running(settings, router):
        await press_and_wait(telegram, 1, "late_failure", "en")
        [_, apology] = await telegram.wait_for_messages(1, 2)
    assert apology.text == APOLOGY["en"]
