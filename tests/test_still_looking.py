""" "Still looking?": a week before the 30-day inactivity pause the cleanup asks once, with
[Yes, keep me] / [Pause], in the person's language; Yes keeps them searching past day 30,
Pause pauses at once, a later stretch is asked again, and presses on an old question (after
a pause, twice, after deleting the account) get a short answer."""

from __future__ import annotations

import pytest

from teambot.config import Settings
from teambot.jobs import still_looking_ahead
from teambot.texts import text
from tests.conftest import running
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_conversations import settle
from tests.test_outbox import impatient, unsent
from tests.test_saved import answer_to, say, sql
from tests.test_teams import seed

pytestmark = pytest.mark.anyio


def age(settings: Settings, ago: str, *users: int) -> None:
    """Make their last activity `ago` (an interval) before now."""
    sql(
        settings,
        "update users set last_active = now() - %s::interval where id = any(%s)",
        ago,
        list(users),
    )


def questions(telegram: FakeTelegram, user: int, lang: str) -> list[SentMessage]:
    """The "Still looking?" messages in their chat, however they were answered since."""
    sent = [
        call.result["message_id"]
        for call in telegram.calls_of("sendMessage")
        if call.status == 200
        and call.params["chat_id"] == user
        and call.params["text"].startswith(text(lang, "still_looking", days=7)[:20])
    ]
    return [m for m in telegram.messages(user) if m.message_id in sent]


async def click(telegram: FakeTelegram, user: int, message: SentMessage, answer: str) -> int:
    update = telegram.press_button(user, message.message_id, f"still:{answer}")
    await telegram.wait_confirmed(update)
    await settle(telegram)
    return update


def searching(settings: Settings) -> dict[int, bool]:
    return dict(sql(settings, "select id, is_searching from users"))  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_asked_once_and_yes_keeps_them_searching_past_day_30(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    for user in (1, 2, 3, 4, 5):
        seed(url, user, lang=lang)
    seed(url, 6, lang=lang, searching=False)
    # a little over 23 days: the question's moment, a week before the pause
    age(settings, "23 days 1 hour", 1, 2, 4, 5, 6)
    age(settings, "10 days", 3)  # not yet
    sql(settings, "update users set unreachable_since = now() where id = 4")  # blocked the bot
    sql(settings, "update users set deleted_at = now(), is_searching = false where id = 5")
    async with running(settings) as app:
        await app.cleanup.run_pass()
        await app.cleanup.run_pass()  # a second pass asks nobody again
        await telegram.wait_until(
            lambda: all(len(questions(telegram, user, lang)) == 1 for user in (1, 2)),
            what="one question each",
        )
        question = questions(telegram, 1, lang)[0]
        assert question.text == text(lang, "still_looking", days=7)
        assert question.buttons == [
            text(lang, "action_still_looking"),
            text(lang, "action_pause_now"),
        ]
        assert [len(questions(telegram, user, lang)) for user in (3, 4, 5, 6)] == [0, 0, 0, 0]

        # 1 says yes: the question becomes the answer, and they count as active
        await click(telegram, 1, question, "yes")
        answered = telegram.messages(1)[-1]
        assert answered.message_id == question.message_id
        assert answered.text == text(lang, "still_looking_kept") and answered.buttons == []
        assert sql(
            settings,
            "select still_looking_asked_at is null, last_active > now() - interval '1 minute'"
            " from users where id = 1",
        ) == [(True, True)]

        # a week later: 1 is still searching, 2 (no answer) is paused on day 31
        sql(settings, "update users set last_active = last_active - interval '7 days'")
        await app.cleanup.run_pass()
        await telegram.wait_until(
            lambda: telegram.last_message(2).text == text(lang, "paused_inactive", days=30),
            what="2 paused",
        )
        assert searching(settings)[1] is True and searching(settings)[2] is False
        assert len(questions(telegram, 1, lang)) == 1  # not asked twice in one stretch

        # 2 presses Yes on the old question after the pause: told how to come back
        await click(telegram, 2, questions(telegram, 2, lang)[0], "yes")
        assert questions(telegram, 2, lang)[0].text == text(lang, "still_looking_was_paused")
        assert searching(settings)[2] is False

        # 1 twice: the same answer, nothing else happens
        again = await click(telegram, 1, question, "yes")
        assert telegram.messages(1)[-1].text == text(lang, "still_looking_kept")

        # 1 goes quiet again: a new stretch, a new question
        age(settings, "23 days 1 hour", 1)
        await app.cleanup.run_pass()
        await telegram.wait_until(
            lambda: len(questions(telegram, 1, lang)) == 2, what="asked in the new stretch"
        )
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert answer_to(telegram, again) is None  # the message itself says it
    assert failed == 0
    assert telegram.unanswered_callbacks == []


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_pause_pauses_at_once_and_late_presses_are_answered(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1, lang=lang)
    seed(url, 2, lang=lang)
    age(settings, "25 days", 1, 2)  # the cleanup did not run for two days: 5 days left
    async with running(settings) as app:
        await app.cleanup.run_pass()
        await telegram.wait_until(
            lambda: all(len(questions(telegram, user, lang)) == 1 for user in (1, 2)),
            what="asked",
        )
        question = questions(telegram, 1, lang)[0]
        assert question.text == text(lang, "still_looking", days=5)
        await click(telegram, 1, question, "pause")
        assert telegram.messages(1)[-1].text == text(lang, "still_looking_paused")
        assert searching(settings)[1] is False
        # pressing Pause or Yes again changes nothing
        await click(telegram, 1, question, "pause")
        await click(telegram, 1, question, "yes")
        assert telegram.messages(1)[-1].text == text(lang, "still_looking_was_paused")
        assert searching(settings)[1] is False
        # /profile → Resume brings them back
        await say(telegram, 1, "/profile", lang)
        telegram.press(1, text(lang, "action_resume"), language_code=lang)
        await settle(telegram)
        assert searching(settings)[1] is True

        # 2 deletes the account, then presses the question's buttons
        await say(telegram, 2, "/profile", lang)
        telegram.press(2, text(lang, "action_delete"), language_code=lang)
        await settle(telegram)
        telegram.press(2, text(lang, "delete_yes"), language_code=lang)
        await settle(telegram)
        old = questions(telegram, 2, lang)[0]
        late = [await click(telegram, 2, old, answer) for answer in ("yes", "pause")]
        forged = await click(telegram, 2, old, "maybe")
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    stale = text(lang, "stale_button")
    assert [answer_to(telegram, update) for update in [*late, forged]] == [stale] * 3
    assert failed == 0
    assert telegram.unanswered_callbacks == []


async def test_the_question_comes_half_way_when_the_stretch_is_short() -> None:
    assert [still_looking_ahead(days) for days in (1, 2, 10, 14, 30, 90)] == [0, 1, 5, 7, 7, 7]


async def test_someone_who_blocked_the_bot_is_asked_once_and_marked_unreachable(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1)
    seed(url, 2, lang="ru")
    age(settings, "23 days 1 hour", 1, 2)
    telegram.block_user(1)
    async with running(settings) as app:
        await app.cleanup.run_pass()
        await telegram.wait_until(lambda: len(questions(telegram, 2, "ru")) == 1, what="2 asked")
        await telegram.wait_until(
            lambda: (
                sql(settings, "select unreachable_since is not null from users where id = 1")
                == [(True,)]
            ),
            what="1 marked unreachable",
        )
        await app.cleanup.run_pass()
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    refused = [
        call
        for call in telegram.calls_of("sendMessage")
        if call.params["chat_id"] == 1 and call.status == 403
    ]
    assert len(refused) == 1  # not tried again
    assert telegram.messages(1) == []
    assert failed == 0


async def test_the_question_waits_out_an_outage_and_arrives_once(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1)
    age(settings, "23 days 1 hour", 1)
    async with running(settings) as app:
        impatient(app)
        telegram.inject_fault("sendMessage", "500", times=25)
        await app.cleanup.run_pass()  # committed with its question, which could not go out
        await app.cleanup.run_pass()  # asks nobody again
        await telegram.wait_until(lambda: len(questions(telegram, 1, "en")) == 1, timeout=60)
        await app.cleanup.run_pass()
        await settle(telegram)
    assert len(questions(telegram, 1, "en")) == 1
    assert unsent(url) == 0
    tries = [call.status for call in telegram.calls_of("sendMessage")]
    assert 500 in tries and tries[-1] == 200  # it did meet the outage


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_the_question_pressed_in_a_group_or_forged_changes_nothing(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1, lang=lang)
    age(settings, "23 days 1 hour", 1)
    group = -1001234567890
    async with running(settings) as app:
        await app.cleanup.run_pass()
        await telegram.wait_until(lambda: len(questions(telegram, 1, lang)) == 1, what="asked")
        question = questions(telegram, 1, lang)[0]
        # Yes and Pause in a group (by them, by someone else), and data no button carries
        presses = [
            telegram.press_button(user, 7, f"still:{answer}", language_code=lang, chat_id=group)
            for user in (1, 2)
            for answer in ("yes", "pause")
        ]
        await telegram.wait_confirmed(presses[-1])
        await settle(telegram)
        # nothing stored from a group: not even that they were here
        asked = sql(settings, "select still_looking_asked_at is not null from users")
        # in their chat any press counts as activity; these answer nothing else
        forged = [
            telegram.press_button(1, question.message_id, data, language_code=lang)
            for data in ("still:maybe", "still:", "still:pause:1")
        ]
        await telegram.wait_confirmed(forged[-1])
        await settle(telegram)
        in_group = telegram.messages(group)
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert [answer_to(telegram, update) for update in presses] == [
        text(lang, "private_only_button")
    ] * len(presses)
    assert [answer_to(telegram, update) for update in forged] == [text(lang, "stale_button")] * len(
        forged
    )
    assert asked == [(True,)]
    # still searching: the question keeps its buttons, nothing was posted in the group
    assert searching(settings) == {1: True}
    assert questions(telegram, 1, lang)[0].buttons == [
        text(lang, "action_still_looking"),
        text(lang, "action_pause_now"),
    ]
    assert in_group == []
    assert failed == 0
    assert telegram.unanswered_callbacks == []
