"""/search as people meet it, through the fake Bot API: who is never offered (one's own
team, its people, pending ones), empty answers that fit the person, the end of the list,
card buttons that carry no Telegram id and refuse forged presses alike, and the note
question whose button acts only while that question is open."""

from __future__ import annotations

import random
from typing import Any

import pytest
from loguru import logger

from teambot.config import Settings
from teambot.routers.search import Card
from teambot.runtime import App
from teambot.texts import text
from tests.conftest import running
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_conversations import settle
from tests.test_teams import query, seed, url_of

pytestmark = pytest.mark.anyio

# what each language's person reads
WAIT = {
    "en": "New people join every day: when someone who has what you look for arrives, I will "
    "let you know (at most once a day).",
    "ru": "Люди приходят каждый день: когда появится кто-то с тем, что вы ищете, я сообщу "
    "(не чаще раза в день).",
}
ADD_WANTS = {
    "en": "Add whom you look for in /profile (Edit profile → Looking for): when someone new has "
    "it, I will let you know.",
    "ru": "Добавьте в /profile, кого вы ищете (Изменить профиль → Кого ищу): когда появится "
    "кто-то подходящий, я сообщу.",
}
PAUSED = {
    "en": "Your own search is paused, so I do not tell you about new people: /profile → Resume "
    "searching.",
    "ru": "Ваш поиск приостановлен, поэтому о новых людях я не сообщаю: /profile → Снова искать.",
}
NOBODY = {
    "en": "Nobody who fits you is looking right now.",
    "ru": "Сейчас подходящих вам людей в поиске нет.",
}
STALE = {"en": "This button is no longer active.", "ru": "Эта кнопка больше не действует."}


async def say(telegram: FakeTelegram, user: int, words: str, lang: str = "en") -> None:
    telegram.send_text(user, words, language_code=lang)
    await settle(telegram)


async def press(telegram: FakeTelegram, user: int, key: str, lang: str = "en") -> None:
    """Press the button (named by its text's id) under the latest message that has it."""
    telegram.press(user, text(lang, key), language_code=lang)
    await settle(telegram)


async def press_on(
    telegram: FakeTelegram, user: int, message: SentMessage, data: str, lang: str = "en"
) -> str | None:
    """Press a button with this data under this message (still shown or not); the answer."""
    before = len(telegram.callback_answers)
    update = telegram.press_button(user, message.message_id, data, language_code=lang)
    await telegram.wait_confirmed(update)
    answers = telegram.callback_answers[before:]
    assert len(answers) == 1, answers  # exactly one answer per press
    return answers[0][1]


def data_of(message: SentMessage, lang: str, key: str) -> str:
    data = message.callback_data(text(lang, key))
    assert data is not None, (key, message.buttons)
    return data


def failures(app: App) -> float | None:
    return app.metrics.registry.get_sample_value("teambot_updates_failed_total")


def invitations(settings: Settings) -> list[tuple[Any, ...]]:
    return query(
        url_of(settings),
        "select sender_id, recipient_id, status, note from invitations order by id",
    )


# --- 1. never one's own team, its people, or a pending one as if new


async def test_after_joining_a_team_search_shows_neither_it_nor_its_people(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", team="Rocket", skills=("design",), wants=("python",))
    seed(url, 11, role="team", team="Comet", skills=("design",), wants=("sales",))
    seed(url, 1, name="Anna")  # python, looks for design
    seed(url, 2, role="cofounder", name="Boris")
    async with running(settings) as app:
        await say(telegram, 1, "/search")
        rocket_card = telegram.last_message(1)
        await press(telegram, 1, "action_request")
        await press(telegram, 1, "send_without_note")
        await press(telegram, 10, "action_accept")
        # she is in Rocket now: only the other team is offered
        await say(telegram, 1, "/search")
        anna_sees = telegram.last_message(1).text
        # her old card of Rocket no longer asks to join
        again = await press_on(
            telegram, 1, rocket_card, data_of(rocket_card, "en", "action_request")
        )
        # the team does not see her, only Boris; it invites him and he accepts
        await say(telegram, 10, "/search")
        team_sees = telegram.last_message(10).text
        await press(telegram, 10, "action_invite")
        await press(telegram, 10, "send_without_note")
        await press(telegram, 2, "action_accept")
        await say(telegram, 2, "/search")
        boris_sees = telegram.last_message(2).text
        await say(telegram, 10, "/search")
        team_sees_later = telegram.last_message(10).text
        failed = failures(app)
    assert rocket_card.text.startswith("User10 · Team\nTeam: Rocket")
    assert anna_sees.startswith("User11 · Team\nTeam: Comet") and anna_sees.endswith("1 of 1")
    assert again == "You are in the same team already."
    assert team_sees.startswith("Boris · Co-founder") and team_sees.endswith("1 of 1")
    assert boris_sees.startswith("User11 · Team\nTeam: Comet") and boris_sees.endswith("1 of 1")
    assert team_sees_later == f"{NOBODY['en']}\n{WAIT['en']}"
    rocket = query(
        url,
        "select m.user_id from team_members m join teams t on t.id = m.team_id"
        " where t.owner_id = 10 order by m.user_id",
    )
    assert rocket == [(1,), (2,), (10,)]
    assert failed == 0


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_pending_one_is_not_offered_again_and_the_card_says_so(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", lang=lang, skills=("design",), wants=("python",))
    seed(url, 1, lang=lang)
    async with running(settings):
        await say(telegram, 1, "/search", lang)
        card = telegram.last_message(1)
        await press(telegram, 1, "action_request", lang)
        await press(telegram, 1, "send_without_note", lang)
        chat = len(telegram.messages(1))
        # the card's own button, again: no second request, no second question
        again = await press_on(telegram, 1, card, data_of(card, lang, "action_request"), lang)
        unchanged = len(telegram.messages(1)) == chat
        await say(telegram, 1, "/search", lang)
        asker_sees = telegram.last_message(1).text
        await say(telegram, 10, "/search", lang)
        team_sees = telegram.last_message(10).text
    only_pending = {
        "en": "The only one who fits you right now already has a pending invitation with you: "
        "see /invitations.",
        "ru": "Сейчас вам подходит только тот, с кем у вас уже есть ожидающее приглашение: "
        "см. /invitations.",
    }[lang]
    assert (
        again
        == {
            "en": "There is already a pending invitation between you two.",
            "ru": "Между вами уже есть ожидающее приглашение.",
        }[lang]
    )
    assert unchanged
    assert asker_sees == team_sees == f"{only_pending}\n{WAIT[lang]}"
    assert [row[:3] for row in invitations(settings)] == [(1, 10, "pending")]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_card_pressed_after_its_person_reached_out_points_to_their_invitation(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    """Both look at each other's card; the team invites first. The person's press on the
    team's card, a moment later, is not told just that something is pending: it is told
    the team reached out and where to answer, and asks no note."""
    url = url_of(settings)
    seed(url, 10, role="team", lang=lang, skills=("design",), wants=("python",))
    seed(url, 1, lang=lang)
    async with running(settings):
        await say(telegram, 1, "/search", lang)
        card = telegram.last_message(1)
        await say(telegram, 10, "/search", lang)
        await press(telegram, 10, "action_invite", lang)
        await press(telegram, 10, "send_without_note", lang)
        chat = len(telegram.messages(1))  # the team's invitation is the last of them
        answer = await press_on(telegram, 1, card, data_of(card, lang, "action_request"), lang)
        unchanged = len(telegram.messages(1)) == chat
    assert answer == text(lang, "invite_theirs_pending")
    assert (
        answer
        == {
            "en": "They have already reached out to you: answer them in /invitations.",
            "ru": "Этот человек уже обратился к вам первым: ответьте ему в /invitations.",
        }[lang]
    )
    assert unchanged
    assert [row[:3] for row in invitations(settings)] == [(10, 1, "pending")]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_note_sent_after_its_person_reached_out_points_to_their_invitation(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    """The person is asked for a note; meanwhile the team invites them. The note, when it
    comes, sends nothing and is answered with where their invitation waits."""
    url = url_of(settings)
    seed(url, 10, role="team", lang=lang, skills=("design",), wants=("python",))
    seed(url, 1, lang=lang)
    async with running(settings):
        await say(telegram, 1, "/search", lang)
        await press(telegram, 1, "action_request", lang)  # the note question
        await say(telegram, 10, "/search", lang)
        await press(telegram, 10, "action_invite", lang)
        await press(telegram, 10, "send_without_note", lang)
        await say(telegram, 1, "Hi, I do Python", lang)
        answer = telegram.last_message(1).text
    assert answer == text(lang, "invite_theirs_pending")
    assert [row[:3] for row in invitations(settings)] == [(10, 1, "pending")]


# --- 2. the empty answer fits the person's state


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_the_empty_answer_fits_the_person(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", lang=lang, skills=("design",), wants=("python", "ml", "go", "ux"))
    seed(url, 11, role="team", lang=lang, skills=("design",), wants=())
    seed(url, 12, role="team", lang=lang, skills=("design",), wants=("python",), searching=False)
    async with running(settings):
        for team in (10, 11, 12):  # nobody at all
            await say(telegram, team, "/search", lang)
        nobody = {team: telegram.last_message(team).text for team in (10, 11, 12)}
        seed(url, 1, lang=lang, skills=("python",))
        seed(url, 2, lang=lang, skills=("python",))
        await say(telegram, 10, "/search cobol", lang)
        filtered = telegram.last_message(10).text
        # hiding both leaves only the hidden
        await say(telegram, 10, "/search", lang)
        await press(telegram, 10, "action_hide", lang)
        await press(telegram, 10, "action_hide", lang)
        all_hidden = telegram.last_message(10).text
        await say(telegram, 10, "/search python", lang)
        all_hidden_filtered = telegram.last_message(10).text
        # one hidden, one pending
        await say(telegram, 11, "/search", lang)
        await press(telegram, 11, "action_hide", lang)
        await press(telegram, 11, "action_invite", lang)
        await press(telegram, 11, "send_without_note", lang)
        await say(telegram, 11, "/search", lang)
        mixed = telegram.last_message(11).text
    assert nobody == {
        10: f"{NOBODY[lang]}\n{WAIT[lang]}",  # four tags to look for: no "add some"
        11: f"{NOBODY[lang]}\n{ADD_WANTS[lang]}",
        12: f"{NOBODY[lang]}\n{PAUSED[lang]}",
    }
    assert (
        filtered
        == {
            "en": "Nobody with «cobol» is looking right now. /search without a skill shows "
            "everyone who fits you.",
            "ru": "Сейчас в поиске нет никого с «cobol». /search без навыка покажет всех, кто "
            "вам подходит.",
        }[lang]
        + f"\n{WAIT[lang]}"
    )
    hidden_two = {
        "en": "Everyone who fits you right now (2) is someone you hid.",
        "ru": "Сейчас вам подходят только те, кого вы скрыли (2).",
    }[lang]
    assert all_hidden == all_hidden_filtered == f"{hidden_two}\n{WAIT[lang]}"
    assert (
        mixed
        == {
            "en": "Everyone who fits you right now is someone you hid (1) or already has a pending "
            "invitation with you (1, see /invitations).",
            "ru": "Сейчас вам подходят только те, кого вы скрыли (1), и те, с кем у вас уже есть "
            "ожидающие приглашения (1, см. /invitations).",
        }[lang]
        + f"\n{ADD_WANTS[lang]}"
    )


# --- 3. Next on the last card


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_next_on_the_last_card_says_that_is_everyone_and_keeps_the_card(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", lang=lang, skills=("design",), wants=("python",))
    seed(url, 1, lang=lang, skills=("python",))
    seed(url, 2, lang=lang, skills=("sales",))
    async with running(settings) as app:
        await say(telegram, 10, "/search", lang)
        await press(telegram, 10, "action_next", lang)
        last = telegram.last_message(10)
        edits = len(telegram.calls_of("editMessageText"))
        end = await press_on(telegram, 10, last, data_of(last, lang, "action_next"), lang)
        kept = telegram.last_message(10)
        edits_after = len(telegram.calls_of("editMessageText"))
        # the only card of a filtered search: the same
        await say(telegram, 10, "/search sales", lang)
        only = telegram.last_message(10)
        end_of_one = await press_on(telegram, 10, only, data_of(only, lang, "action_next"), lang)
        failed = failures(app)
    assert last.text.endswith({"en": "2 of 2", "ru": "2 из 2"}[lang])
    assert (
        end
        == end_of_one
        == {
            "en": "That is everyone for now. I will let you know when someone new matches; "
            "/search starts again from the top.",
            "ru": "Пока это все. Когда появится кто-то новый и подходящий, я сообщу; /search "
            "покажет всех сначала.",
        }[lang]
    )
    assert (kept.text, kept.buttons) == (last.text, last.buttons)
    assert edits_after == edits  # nothing edited into the same card
    assert only.text.endswith({"en": "1 of 1", "ru": "1 из 1"}[lang])
    assert telegram.last_message(10).text == only.text
    assert failed == 0


async def test_the_end_of_the_list_says_what_to_do_as_things_stand(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", skills=("design",), wants=())
    seed(url, 11, role="team", skills=("design",), wants=("python",), searching=False)
    seed(url, 1)
    async with running(settings):
        ends = []
        for team in (10, 11):
            await say(telegram, team, "/search")
            card = telegram.last_message(team)
            ends.append(await press_on(telegram, team, card, data_of(card, "en", "action_next")))
    assert ends == [
        "That is everyone for now. Add whom you look for in /profile to hear about new matches; "
        "/search starts again from the top.",
        "That is everyone for now. Your search is paused, so I do not tell you about new people: "
        "/profile → Resume searching.",
    ]
    assert all(len(end or "") <= 200 for end in ends)  # Telegram's limit for the answer


# --- 4. card buttons: opaque references, one neutral answer for anything not valid

BIG_ID = 987_654_321  # a Telegram id that must appear in no button


async def test_card_buttons_carry_no_telegram_id_and_foreign_refs_are_refused_alike(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", skills=("design",), wants=("python",))
    seed(url, 11, role="team", skills=("design",), wants=("python",))
    seed(url, BIG_ID, skills=("python",))
    async with running(settings) as app:
        await say(telegram, 10, "/search")
        mine = telegram.last_message(10)
        await press(telegram, 10, "action_invite")
        prompt = telegram.last_message(10)
        await say(telegram, 10, "/cancel")
        await say(telegram, 11, "/search")
        theirs = telegram.last_message(11)
        # 10 presses 11's buttons, under 10's own card
        foreign = [
            await press_on(telegram, 10, mine, data_of(theirs, "en", key))
            for key in ("action_invite", "action_next", "action_hide", "action_report")
        ]
        # old-style data naming a Telegram id: one who used the bot, and one who never did
        known = await press_on(telegram, 10, mine, f"card:report:{BIG_ID}:0")
        unknown = await press_on(telegram, 10, mine, "card:report:555555555:0")
        hidden_known = await press_on(telegram, 10, mine, f"card:hide:{BIG_ID}:0")
        hidden_unknown = await press_on(telegram, 10, mine, "card:hide:555555555:0")
        failed = failures(app)
    datas = [data for message in (mine, prompt, theirs) for data in _datas(message)]
    assert datas and not any(str(BIG_ID) in data for data in datas)
    assert foreign == [STALE["en"]] * 4
    assert known == unknown == hidden_known == hidden_unknown == STALE["en"]
    assert query(url, "select count(*) from hidden_users") == [(0,)]
    assert query(url, "select count(*) from reports") == [(0,)]
    assert invitations(settings) == []
    assert telegram.messages(10)[-1].text.startswith(text("en", "cancelled")[:9])  # no prompt
    assert failed == 0


def _datas(message: SentMessage) -> list[str]:
    return [
        str(button["callback_data"])
        for row in (message.reply_markup or {}).get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    ]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_hide_and_report_act_on_ones_own_card(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", lang=lang, skills=("design",), wants=("python",))
    seed(url, 1, lang=lang, skills=("python",))
    seed(url, 2, lang=lang, skills=("python",))
    async with running(settings):
        await say(telegram, 10, "/search", lang)
        first = telegram.last_message(10)
        await press(telegram, 10, "action_report", lang)
        second = telegram.last_message(10)
        report_again = await press_on(
            telegram, 10, second, data_of(first, lang, "action_report"), lang
        )
    assert first.text.endswith({"en": "1 of 2", "ru": "1 из 2"}[lang])
    # the reported one is hidden: the other takes the card's place
    assert second.message_id == first.message_id and second.text != first.text
    assert second.text.endswith({"en": "1 of 1", "ru": "1 из 1"}[lang])
    assert text(lang, "reported") in [answer[1] for answer in telegram.callback_answers]
    assert report_again == text(lang, "reported")  # a second report: thanks, no second notice
    assert query(url, "select reporter_id, count(*) from reports group by 1") == [(10, 1)]
    assert query(url, "select user_id, count(*) from hidden_users group by 1") == [(10, 1)]


async def test_card_callback_fuzz_gets_the_neutral_answer(
    telegram: FakeTelegram, settings: Settings
) -> None:
    """Random, huge, negative, non-numeric fields and other people's references, pressed by
    someone with cards of their own and by someone without: one neutral answer each, no
    failure, nothing changed."""
    url = url_of(settings)
    seed(url, 10, role="team", skills=("design",), wants=("python",))
    seed(url, 11, role="team", lang="ru", skills=("design",), wants=("python",))
    seed(url, 12, role="team")  # has never searched: no references at all
    for person in (1, 2, 3):
        seed(url, person, skills=("python",))
    errors: list[str] = []
    sink = logger.add(errors.append, level="WARNING", format="{level} {message}")
    async with running(settings) as app:
        for viewer in (10, 11):
            await say(telegram, viewer, "/search")
            for _ in range(2):
                await press(telegram, viewer, "action_next", "ru" if viewer == 11 else "en")
        await say(telegram, 12, "/help")
        refs = {
            viewer: {
                ref
                for (ref,) in query(url, "select id from search_cards where viewer_id = %s", viewer)
            }
            for viewer in (10, 11)
        }
        rng = random.Random(9)
        presses = []
        for presser, lang in ((10, "en"), (11, "ru"), (12, "en")):
            own = refs.get(presser, set())
            others = {ref for viewer, mine in refs.items() if viewer != presser for ref in mine}
            message = telegram.last_message(presser)
            for data in _fuzz(rng, own, others, 40):
                presses.append((lang, await press_on(telegram, presser, message, data, lang)))
        failed = failures(app)
        states = query(url, "select state from fsm_states where state is not null")
    logger.remove(sink)
    assert [answer for _, answer in presses] == [STALE[lang] for lang, _ in presses]
    assert failed == 0
    assert errors == []  # no traceback, no "numeric out of range" or foreign-key violation
    assert telegram.unanswered_callbacks == []
    assert query(url, "select count(*) from hidden_users") == [(0,)]
    assert query(url, "select count(*) from reports") == [(0,)]
    assert invitations(settings) == []
    assert states == []


def _fuzz(rng: random.Random, own: set[int], others: set[int], count: int) -> list[str]:
    actions = ["connect", "next", "hide", "report", "send", "", "NEXT", "connect ", "x" * 40]
    numbers: list[object] = [
        *sorted(others), 0, -1, -(2**63), 2**63, 2**64, 10**30, 100_001, "abc", "", "1.5",
        "0x1f", "1e3", " 7", "٣", "１", "+2", "NaN", "None", "-0", rng.randrange(10**6, 10**9),
    ]  # fmt: skip
    found: list[str] = []
    while len(found) < count:
        if rng.random() < 0.5:  # well formed: someone else's reference, or nobody's
            ref = rng.choice([*others, rng.randrange(1, 2**63)])
            fields = [rng.choice(actions[:4]), ref, rng.choice([0, 1, 2, 100_000])]
        else:
            fields = [rng.choice(actions), rng.choice(numbers), rng.choice(numbers)]
        if rng.random() < 0.15:  # a field too many or too few
            fields = [*fields, "0"] if rng.random() < 0.5 else fields[:2]
        data = ":".join(["card", *map(str, fields)])[:64]
        try:  # one that happens to be a valid button of the presser's is no forgery
            if Card.unpack(data).ref in own:
                continue
        except (TypeError, ValueError):
            pass
        found.append(data)
    return found


# --- 5. the note question: its button acts only while that question is open


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_typed_note_takes_the_button_away_and_a_late_press_sends_nothing(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", lang=lang, skills=("design",), wants=("python",))
    seed(url, 1, lang=lang, skills=("python",))
    async with running(settings) as app:
        await say(telegram, 1, "/search", lang)
        await press(telegram, 1, "action_request", lang)
        prompt = telegram.last_message(1)
        send_data = data_of(prompt, lang, "send_without_note")
        await say(telegram, 1, "Hi, I know Python well", lang)
        prompt_after = next(m for m in telegram.messages(1) if m.message_id == prompt.message_id)
        await press(telegram, 10, "action_decline", lang)
        # days later, the old question's button
        late = await press_on(telegram, 1, prompt_after, send_data, lang)
        failed = failures(app)
    assert prompt.buttons == [text(lang, "send_without_note")]
    assert prompt_after.buttons == []
    assert (
        late
        == {
            "en": "Nothing was sent: this question is closed. To start again, press the button on "
            "the card.",
            "ru": "Ничего не отправлено: этот вопрос уже закрыт. Чтобы начать заново, нажмите "
            "кнопку на карточке.",
        }[lang]
    )
    assert invitations(settings) == [(1, 10, "declined", "Hi, I know Python well")]
    assert failed == 0


@pytest.mark.parametrize("command", ["/cancel", "/profile", "/search"])
async def test_a_command_ends_the_note_question(
    telegram: FakeTelegram, settings: Settings, command: str
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", skills=("design",), wants=("python",))
    seed(url, 1, skills=("python",))
    async with running(settings):
        await say(telegram, 1, "/search")
        await press(telegram, 1, "action_request")
        prompt = telegram.last_message(1)
        send_data = data_of(prompt, "en", "send_without_note")
        await say(telegram, 1, command)
        answer_to_command = telegram.last_message(1).text
        prompt_after = next(m for m in telegram.messages(1) if m.message_id == prompt.message_id)
        # what comes next is no note
        await say(telegram, 1, "hello")
        after_hello = telegram.last_message(1).text
        late = await press_on(telegram, 1, prompt_after, send_data)
    assert prompt_after.buttons == []
    assert answer_to_command.startswith(
        {
            "/cancel": "Cancelled.",
            "/profile": "User1 · Participant",
            "/search": "User10 · Team",
        }[command]
    )
    assert after_hello == text("en", "unknown_input")
    assert late == text("en", "note_stale")
    assert invitations(settings) == []


async def test_a_second_question_closes_the_first(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", skills=("design",), wants=("python",))
    seed(url, 1, skills=("python",))
    seed(url, 2, skills=("python",))
    async with running(settings):
        await say(telegram, 10, "/search")
        await press(telegram, 10, "action_invite")
        first = telegram.last_message(10)
        first_data = data_of(first, "en", "send_without_note")
        await press(telegram, 10, "action_next")
        card = telegram.messages(10)[0]
        await press(telegram, 10, "action_invite")
        second = telegram.last_message(10)
        first_after = next(m for m in telegram.messages(10) if m.message_id == first.message_id)
        late = await press_on(telegram, 10, first_after, first_data)
        await press(telegram, 10, "send_without_note")
    assert second.message_id != first.message_id
    assert first_after.buttons == []
    assert late == text("en", "note_stale")
    on_the_card = int(card.text.split(" · ")[0].removeprefix("User"))
    assert [row[:3] for row in invitations(settings)] == [(10, on_the_card, "pending")]
