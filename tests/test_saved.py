"""Saved profiles: [Save] on a search card, /saved with [Invite] and [Remove], in both
languages through the fake Bot API; who drops off the list (paused, banned, deleted, erased)
and comes back; the cap; buttons that are forged, someone else's or pressed late."""

from __future__ import annotations

import psycopg
import pytest

from teambot.config import Settings
from teambot.services.saved import LIMIT
from teambot.texts import text
from tests.conftest import running
from tests.fake_telegram import FakeTelegram
from tests.test_conversations import settle
from tests.test_teams import seed

pytestmark = pytest.mark.anyio

OWNER = 10


def answer_to(telegram: FakeTelegram, update_id: int) -> str | None:
    """What the bot answered to the press of this update (a toast, or None)."""
    query = telegram.callback_query_id(update_id)
    answers = [a[1] for a in telegram.callback_answers if a[0] == query]
    assert len(answers) == 1, answers
    return answers[0]


async def press(telegram: FakeTelegram, user: int, label: str, lang: str) -> str | None:
    update = telegram.press(user, label, language_code=lang)
    await telegram.wait_confirmed(update)
    await settle(telegram)
    return answer_to(telegram, update)


async def say(telegram: FakeTelegram, user: int, words: str, lang: str) -> str:
    telegram.send_text(user, words, language_code=lang)
    await settle(telegram)
    return telegram.last_message(user).text


def sql(settings: Settings, statement: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(settings.database_conninfo() or "", autocommit=True) as conn:
        cur = conn.execute(statement, args)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def invite_label(lang: str, n: int) -> str:
    return text(lang, "saved_invite", n=str(n), action=text(lang, "action_invite"))


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_save_from_a_card_then_invite_and_remove_from_saved(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, OWNER, role="team", lang=lang, team="Rocket", wants=("python",))
    seed(url, 1, lang=lang, name="Anna", skills=("python",))
    seed(url, 2, lang=lang, name="Ben", skills=("python",))
    async with running(settings):
        assert await say(telegram, OWNER, "/saved", lang) == text(lang, "saved_empty")
        first = await say(telegram, OWNER, "/search", lang)
        assert text(lang, "action_save") in telegram.last_message(OWNER).buttons
        # twice: the second press only says it is there already
        assert await press(telegram, OWNER, text(lang, "action_save"), lang) == text(
            lang, "saved_added"
        )
        assert await press(telegram, OWNER, text(lang, "action_save"), lang) == text(
            lang, "saved_already"
        )
        await press(telegram, OWNER, text(lang, "action_next"), lang)
        second = telegram.last_message(OWNER).text
        await press(telegram, OWNER, text(lang, "action_save"), lang)
        assert {first.split(" · ")[0], second.split(" · ")[0]} == {"Anna", "Ben"}

        listing = await say(telegram, OWNER, "/saved", lang)
        lines = listing.splitlines()
        # the latest saved first
        assert lines[0] == text(lang, "saved_title", count=2)
        assert lines[1].startswith(f"1. {second.split(' · ')[0]} · ")
        assert lines[2].startswith(f"2. {first.split(' · ')[0]} · ")
        assert "python" in lines[1]
        assert telegram.last_message(OWNER).buttons == [
            invite_label(lang, 1),
            text(lang, "saved_remove", n="1"),
            invite_label(lang, 2),
            text(lang, "saved_remove", n="2"),
        ]
        saved_list = telegram.last_message(OWNER)
        anna = 1 if lines[1].startswith("1. Anna") else 2

        # invite Anna from the list: the note question of /search, then her invitation
        await press(telegram, OWNER, invite_label(lang, anna), lang)
        assert telegram.last_message(OWNER).text == text(lang, "ask_note", max=300)
        await press(telegram, OWNER, text(lang, "send_without_note"), lang)
        notice = telegram.last_message(1)
        assert "Rocket" in notice.text
        assert notice.buttons == [text(lang, "action_accept"), text(lang, "action_decline")]

        # remove Ben: the list is edited in place, and a press on his old button only says so
        ben = 3 - anna
        remove_ben = saved_list.callback_data(text(lang, "saved_remove", n=str(ben)))
        assert remove_ben is not None
        assert await press(telegram, OWNER, text(lang, "saved_remove", n=str(ben)), lang) == text(
            lang, "saved_removed"
        )
        edited = telegram.messages(OWNER)
        edited_list = next(m for m in edited if m.message_id == saved_list.message_id)
        assert edited_list.text.splitlines() == [
            text(lang, "saved_title", count=1),
            edited_list.text.splitlines()[1],
        ]
        assert edited_list.text.splitlines()[1].startswith("1. Anna · ")
        again = telegram.press_button(OWNER, saved_list.message_id, remove_ben, language_code=lang)
        await telegram.wait_confirmed(again)
        await settle(telegram)
        assert answer_to(telegram, again) == text(lang, "saved_not_listed")

        # the last one removed: the friendly empty list
        await press(telegram, OWNER, text(lang, "saved_remove", n="1"), lang)
        edited_list = next(
            m for m in telegram.messages(OWNER) if m.message_id == saved_list.message_id
        )
        assert edited_list.text == text(lang, "saved_empty") and edited_list.buttons == []
    assert sql(settings, "select count(*) from saved_profiles") == [(0,)]
    assert sql(settings, "select recipient_id from invitations") == [(1,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_paused_banned_and_deleted_people_leave_the_list(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, OWNER, role="team", lang=lang, team="Rocket", wants=("python",))
    for person in (1, 2, 3, 4):
        seed(url, person, lang=lang, name=f"P{person}", skills=("python",))
    async with running(settings) as app:
        await say(telegram, OWNER, "/search", lang)
        for _ in range(4):
            await press(telegram, OWNER, text(lang, "action_save"), lang)
            await press(telegram, OWNER, text(lang, "action_next"), lang)
        listing = await say(telegram, OWNER, "/saved", lang)
        assert listing.startswith(text(lang, "saved_title", count=4))

        # P1 pauses, P2 is banned, P3 deletes the account: only P4 is left
        await say(telegram, 1, "/profile", lang)
        await press(telegram, 1, text(lang, "action_pause"), lang)
        sql(settings, "update users set is_banned = true where id = 2")
        await say(telegram, 3, "/profile", lang)
        await press(telegram, 3, text(lang, "action_delete"), lang)
        await press(telegram, 3, text(lang, "delete_yes"), lang)
        listing = await say(telegram, OWNER, "/saved", lang)
        assert listing.splitlines()[0] == text(lang, "saved_title", count=1)
        assert listing.splitlines()[1].startswith("1. P4 · ")
        assert len(telegram.last_message(OWNER).buttons) == 2

        # P1 resumes: back on the list
        await say(telegram, 1, "/profile", lang)
        await press(telegram, 1, text(lang, "action_resume"), lang)
        listing = await say(telegram, OWNER, "/saved", lang)
        assert listing.splitlines()[0] == text(lang, "saved_title", count=2)
        assert "P1 · " in listing and "P2" not in listing and "P3" not in listing

        # P3's data is erased after the retention period: the saved row goes with it
        sql(settings, "update users set deleted_at = now() - interval '40 days' where id = 3")
        await app.cleanup.run_pass()
    assert sql(settings, "select saved_id from saved_profiles order by saved_id") == [
        (1,),
        (2,),
        (4,),
    ]


async def test_the_list_is_capped_and_fits_one_message(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, OWNER, role="team", team="Rocket", wants=("python",))
    people = range(100, 100 + LIMIT + 3)
    # the longest profiles there are: a 64-character name, ten 32-character skills
    long_skills = tuple(f"{'s' * 31}{n}" for n in range(10))
    for person in people:
        seed(url, person, name=f"P{person} " + "ж" * 59, skills=long_skills)
    # saved one a minute apart, the first person earliest (saving itself is tested above)
    sql(
        settings,
        "with cards as (insert into search_cards (viewer_id, candidate_id)"
        " select %s, g from generate_series(%s::bigint, %s::bigint) g returning candidate_id)"
        " insert into saved_profiles (user_id, saved_id, saved_at)"
        " select %s, candidate_id, now() - (%s::bigint - candidate_id) * interval '1 minute'"
        " from cards",
        OWNER,
        people[0],
        people[-1],
        OWNER,
        people[-1],
    )
    async with running(settings):
        listing = await say(telegram, OWNER, "/saved", "en")
        await say(telegram, OWNER, "/language", "en")
        await press(telegram, OWNER, "Русский", "ru")
        listing_ru = await say(telegram, OWNER, "/saved", "ru")
    lines = listing.splitlines()
    assert lines[0] == "Saved for later (23):"
    assert lines[1].startswith(f"1. P{people[-1]} ")  # the latest first
    assert lines[LIMIT].startswith(f"{LIMIT}. P{people[3]} ")
    # shortened to fit: the name to 40 characters, the skills to three and a count
    assert lines[1] == (
        f"1. P{people[-1]} {'ж' * 34}… · Participant: {', '.join(long_skills[:3])} and 7 more"
    )
    assert lines[-1] == "…and 3 more profiles: remove someone above to see them."
    assert len(lines) == LIMIT + 2
    assert len(telegram.last_message(OWNER).buttons) == 2 * LIMIT
    assert listing_ru.splitlines()[-1] == (
        "…и ещё 3 профиля: уберите кого-нибудь из списка, чтобы их увидеть."
    )
    assert text("en", "saved_more", count=1).startswith("…and 1 more profile:")
    assert text("ru", "saved_more", count=5).startswith("…и ещё 5 профилей:")


async def test_forged_foreign_and_late_presses_get_a_short_answer(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, OWNER, role="team", team="Rocket", wants=("python",))
    seed(url, 11, role="team", team="Comet", wants=("python",))
    seed(url, 1, name="Anna", skills=("python",))
    stale = text("en", "stale_button")
    async with running(settings) as app:
        await say(telegram, OWNER, "/search", "en")
        card = telegram.last_message(OWNER)
        save_card = card.callback_data(text("en", "action_save"))
        assert save_card is not None
        await press(telegram, OWNER, text("en", "action_save"), "en")
        await say(telegram, OWNER, "/saved", "en")
        mine = telegram.last_message(OWNER)
        invite, remove = (mine.callback_data(label) for label in mine.buttons)
        assert invite is not None and remove is not None
        assert invite.startswith("saved:invite:") and remove.startswith("saved:remove:")
        presses = [
            # another team's owner pressing the owner's card and list buttons
            telegram.press_button(11, card.message_id, save_card),
            telegram.press_button(11, mine.message_id, invite),
            telegram.press_button(11, mine.message_id, remove),
            # forged: nobody's reference, and out of bounds
            telegram.press_button(OWNER, mine.message_id, "saved:remove:999"),
            telegram.press_button(OWNER, mine.message_id, "saved:invite:0"),
            telegram.press_button(OWNER, mine.message_id, "card:save:999:0"),
            telegram.press_button(OWNER, mine.message_id, "saved:forget:1"),
        ]
        await telegram.wait_confirmed(presses[-1])
        await settle(telegram)
        answers = [answer_to(telegram, update) for update in presses]
        # the unregistered: /saved asks to register
        unregistered = await say(telegram, 5, "/saved", "en")
        # the owner deletes the account: the list's buttons are dead
        await say(telegram, OWNER, "/profile", "en")
        await press(telegram, OWNER, text("en", "action_delete"), "en")
        await press(telegram, OWNER, text("en", "delete_yes"), "en")
        late = telegram.press_button(OWNER, mine.message_id, invite)
        await telegram.wait_confirmed(late)
        await settle(telegram)
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert answers == [stale] * len(presses)
    assert answer_to(telegram, late) == stale
    assert unregistered == text("en", "register_first")
    assert failed == 0
    assert telegram.unanswered_callbacks == []
    assert sql(settings, "select count(*) from invitations") == [(0,)]
    assert sql(settings, "select user_id, saved_id from saved_profiles") == [(OWNER, 1)]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_saved_is_in_the_command_menu_and_help(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    async with running(settings):
        help_text = await say(telegram, 1, "/help", lang)
    menus = {
        call.params.get("language_code", "en"): call.params["commands"]
        for call in telegram.calls_of("setMyCommands")
    }
    assert {"command": "saved", "description": text(lang, "cmd_saved")} in menus[lang]
    assert "/saved" in help_text


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_save_remove_and_invite_pressed_in_a_group_do_nothing_but_say_so(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, OWNER, role="team", lang=lang, team="Rocket", wants=("python",))
    seed(url, 1, lang=lang, name="Anna", skills=("python",))
    seed(url, 2, lang=lang, name="Ben", skills=("python",))
    group = -4242
    async with running(settings) as app:
        await say(telegram, OWNER, "/search", lang)
        card = telegram.last_message(OWNER)
        save_data = card.callback_data(text(lang, "action_save"))
        await press(telegram, OWNER, text(lang, "action_save"), lang)
        await say(telegram, OWNER, "/saved", lang)
        mine = telegram.last_message(OWNER)
        invite, remove = (mine.callback_data(label) for label in mine.buttons)
        assert save_data is not None and invite is not None and remove is not None
        before = len(telegram.messages(OWNER))
        dialogues = sql(settings, "select key, state, data from fsm_states order by key")
        # the same buttons' data pressed in a group (forwarded, or forged there): by the
        # owner, and by someone else; /saved typed there points to the private chat
        presses = [
            telegram.press_button(user, 999, data, language_code=lang, chat_id=group)
            for user in (OWNER, 2)
            for data in (save_data, invite, remove)
        ]
        telegram.send_text(OWNER, "/saved", language_code=lang, chat_id=group)
        await telegram.wait_confirmed(presses[-1])
        await settle(telegram)
        answers = [answer_to(telegram, update) for update in presses]
        in_group = telegram.messages(group)
        dialogues_after = sql(settings, "select key, state, data from fsm_states order by key")
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert answers == [text(lang, "private_only_button")] * len(presses)
    assert [m.text for m in in_group] == [text(lang, "private_only")]
    assert in_group[0].buttons == [text(lang, "private_only_open")]
    assert len(telegram.messages(OWNER)) == before  # no note question, no edited list
    assert dialogues_after == dialogues
    saved_one = 1 if card.text.startswith("Anna") else 2
    assert sql(settings, "select user_id, saved_id from saved_profiles") == [(OWNER, saved_one)]
    assert sql(settings, "select count(*) from invitations") == [(0,)]
    assert failed == 0
    assert telegram.unanswered_callbacks == []
