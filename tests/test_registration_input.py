"""What people type and tap in registration and /profile: every typed piece is taken or
refused with its reason, a long paste Telegram split is refused whole, only the current
step's keyboard can be pressed, and forged buttons get the neutral answer."""

from __future__ import annotations

import time

import psycopg
import pytest

from teambot.config import Settings
from teambot.runtime import App
from tests.conftest import running
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_conversations import register, settle

pytestmark = pytest.mark.anyio

LABELS = {
    "en": {
        "lang": "English",
        "participant": "Participant",
        "team": "Team",
        "done": "Done ✓",
        "skip": "Skip",
        "confirm": "Confirm ✓",
        "rest": "Finish later ⏭",
    },
    "ru": {
        "lang": "Русский",
        "participant": "Участник",
        "team": "Команда",
        "done": "Готово ✓",
        "skip": "Пропустить",
        "confirm": "Подтвердить ✓",
        "rest": "Заполню потом ⏭",
    },
}
STALE = "This button is no longer active."


def live_keyboards(telegram: FakeTelegram, chat: int) -> list[SentMessage]:
    return [m for m in telegram.messages(chat) if m.buttons]


def dialogue(settings: Settings, user: int) -> tuple[str | None, dict[str, object]]:
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        row = conn.execute(
            "select state, data from fsm_states where key like %s", (f"%:{user}:{user}:%",)
        ).fetchone()
    return (row[0], row[1]) if row else (None, {})


def failures(app: App) -> float:
    return app.metrics.registry.get_sample_value("teambot_updates_failed_total") or 0.0


class Person:
    """One person in their private chat, in one language."""

    def __init__(self, telegram: FakeTelegram, user: int, lang: str) -> None:
        self.telegram, self.user, self.lang = telegram, user, lang

    async def say(self, words: str, *, date: int | None = None) -> None:
        self.telegram.send_text(
            self.user, words, first_name="Ann", language_code=self.lang, date=date
        )
        await settle(self.telegram)

    async def tap(self, label: str) -> None:
        self.telegram.press(self.user, LABELS[self.lang].get(label, label), language_code=self.lang)
        await settle(self.telegram)

    async def begin(self, role: str = "participant") -> None:
        """/start, the language, the role: the dialogue asks for the name."""
        await self.say("/start")
        await self.tap("lang")
        await self.tap(role)

    def last(self) -> SentMessage:
        return self.telegram.last_message(self.user)

    def texts(self) -> list[str]:
        return [m.text for m in self.telegram.messages(self.user)]


# --- one live keyboard per dialogue


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_only_the_current_step_has_buttons_through_a_whole_registration(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    ann = Person(telegram, 1, lang)
    most_live = 0

    async def step(action: str, value: str) -> None:
        nonlocal most_live
        await (ann.say(value) if action == "say" else ann.tap(value))
        most_live = max(most_live, len(live_keyboards(telegram, 1)))

    async with running(settings) as app:
        for action, value in [
            ("say", "/start"),
            ("say", "/start"),  # again: the first language keyboard goes
            ("tap", "lang"),
            ("tap", "team"),
            ("say", "x" * 65),  # refused: the name prompt stays the one keyboard
            ("say", "Ann"),
            ("tap", "python"),
        ]:
            await step(action, value)
        tapped = ann.last()
        for action, value in [
            ("say", "ml, rust"),  # typed after tapping: a new tag keyboard
            ("say", "🚀🚀"),  # refused: no new keyboard
            ("tap", "done"),
            ("say", "design"),
            ("tap", "done"),
            ("say", "x" * 501),  # refused
            ("say", "I build things"),  # typed: the bio's Skip goes
            ("say", "Rocket"),
        ]:
            await step(action, value)
        bio_prompt = next(m for m in telegram.messages(1) if m.text.startswith(("A few", "Пара")))
        assert bio_prompt.buttons == []  # its Skip would skip the team description now
        await step("tap", "skip")
        await step("tap", "rest")
        await step("tap", "confirm")
        # the first tag keyboard, pressed again at the end: nothing changes
        stale = telegram.press_button(
            1, tapped.message_id, tapped.callback_data("✓ python") or "", language_code=lang
        )
        await telegram.wait_confirmed(stale)
        failed = failures(app)
    assert most_live == 1
    assert live_keyboards(telegram, 1) == []
    # the tag keyboard tapped before typing lost its buttons by an edit of its markup
    edits = [
        c
        for c in telegram.calls_of("editMessageReplyMarkup")
        if c.params.get("message_id") == tapped.message_id
    ]
    assert edits and not (edits[-1].params.get("reply_markup") or {}).get("inline_keyboard")
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        row = conn.execute("select skills, bio from users").fetchone()
        team = conn.execute("select name, description from teams").fetchone()
    assert row == (["python", "ml", "rust"], "I build things")
    assert team == ("Rocket", "")
    assert failed == 0
    assert telegram.unanswered_callbacks == []


async def test_typed_tags_can_be_taken_off_with_a_tap(
    telegram: FakeTelegram, settings: Settings
) -> None:
    ann = Person(telegram, 1, "en")
    async with running(settings):
        await ann.begin()
        await ann.say("Ann")
        await ann.say("rust, c++, figma")
        shown = ann.last()
        await ann.tap("✓ c++")
        after = ann.last()
    assert [b for b in shown.buttons if b.startswith("✓")] == ["✓ rust", "✓ c++", "✓ figma"]
    assert after.text.endswith("Chosen: rust, figma")
    assert "✓ c++" not in after.buttons


async def test_the_profile_card_changes_in_place_and_keeps_one_keyboard(
    telegram: FakeTelegram, settings: Settings
) -> None:
    ann = Person(telegram, 1, "en")
    async with running(settings):
        await register(telegram, 1, role="participant")
        await ann.say("/profile")
        card = ann.last()
        await ann.tap("Delete account")
        asked = ann.last()
        await ann.tap("No, keep it")
        kept = ann.last()
        await ann.tap("Edit profile")
        fields = ann.last()
        await ann.tap("← Back")
        back = ann.last()
        await ann.tap("Edit profile")
        await ann.tap("Skills")
        live = live_keyboards(telegram, 1)
        ids = [m.message_id for m in telegram.messages(1)]
    assert ids[-2:] == [card.message_id, ids[-1]]  # nothing sent but the skills prompt
    assert card.buttons == [
        "Edit profile",
        "Preferences",
        "Pause searching",
        "Turn announcements off",
        "Delete account",
    ]
    assert asked.message_id == card.message_id
    assert asked.text.startswith("Delete your account?")
    assert asked.buttons == ["Yes, delete", "No, keep it"]
    assert (kept.message_id, kept.text, kept.buttons) == (card.message_id, card.text, card.buttons)
    assert fields.message_id == card.message_id
    assert fields.buttons == [
        "Name",
        "Skills",
        "Looking for",
        "About me",
        "Commitment",
        "Time zone",
        "Remote / on site",
        "Role focus",
        "Languages",
        "Links",
        "Everything (start over)",
        "← Back",
    ]
    assert (back.text, back.buttons) == (card.text, card.buttons)
    assert len(live) == 1 and live[0].text.startswith("What can you do?")
    answers = [a[1] for a in telegram.callback_answers]
    assert "Kept. Nothing changed." in answers
    assert "What would you like to change?" in answers


# --- typed skills: taken, or refused with the reason


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_mixed_skill_list_takes_the_good_ones_and_says_why_not_the_rest(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    ann = Person(telegram, 1, lang)
    long_tag = "blockchain-distributed-ledger-architect"  # 39 characters
    async with running(settings):
        await ann.begin()
        await ann.say("Ann")
        before = len(telegram.messages(1))
        await ann.say(f"python, 🚀🚀, ml, Python, питон, {long_tag}")
        mixed = ann.texts()[before:]
        await ann.say("🚀🚀")
        alone = ann.texts()[-1]
        await ann.say("a, b, c, d, e, f, g, h, i")  # 2 + 9 tags: one too many
        full = ann.texts()[-2:]
        state, data = dialogue(settings, 1)
    note, prompt = mixed
    if lang == "en":
        assert note.splitlines() == [
            "Not taken: «🚀🚀»: a skill is written with letters and digits.",
            "Not taken: «blockchain-distributed-…»: a skill is up to 32 characters.",
            "Already on the list: «python».",
        ]
        assert prompt.endswith("Chosen: python, ml")
        assert alone == "Not taken: «🚀🚀»: a skill is written with letters and digits."
        assert full[0] == ("Not added: «i»: the list holds at most 10. Remove one to add another.")
    else:
        assert note.splitlines() == [
            "Не добавлено: «🚀🚀» — навык пишется буквами и цифрами.",
            "Не добавлено: «blockchain-distributed-…» — навык не длиннее 32 символов.",
            "Уже в списке: «python».",
        ]
        assert prompt.endswith("Выбрано: python, ml")
        assert full[0] == (
            "Не добавлено: «i» — в списке не больше 10 навыков. "
            "Уберите один, чтобы добавить другой."
        )
    assert data["skills"] == ["python", "ml", *"abcdefgh"]
    assert state == "Registration:skills"


async def test_many_refused_pieces_are_summed_up_and_no_list_is_a_paste(
    telegram: FakeTelegram, settings: Settings
) -> None:
    ann = Person(telegram, 1, "en")
    async with running(settings):
        await ann.begin()
        await ann.say("Ann")
        await ann.say(", ".join(["!!"] * 8))
        summed = ann.texts()[-1]
        await ann.say("python, " + "cv line, " * 60)
        paste = ann.texts()[-1]
        _, data = dialogue(settings, 1)
    assert summed == (
        "Not taken: «!!», «!!», «!!», «!!», «!!» and 3 more: "
        "a skill is written with letters and digits."
    )
    assert paste == (
        "That is too long for a list of skills. Send up to 10 short skills, separated by commas."
    )
    assert data["skills"] == []


# --- a long paste Telegram split in two


PASTE = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 100)[:4096]


@pytest.mark.parametrize(
    ("lang", "step", "rest"),
    [
        ("en", "bio", "the last 300 characters " * 12),
        ("ru", "bio", "последние символы текста " * 12),
        ("en", "name", "elit sed do"),
        ("en", "team_description", "x" * 904),  # 4 096 + 904: the reported case
    ],
)
async def test_the_rest_of_a_split_paste_is_refused_too(
    telegram: FakeTelegram, settings: Settings, lang: str, step: str, rest: str
) -> None:
    ann = Person(telegram, 1, lang)
    async with running(settings):
        await ann.begin("team" if step == "team_description" else "participant")
        if step != "name":
            await ann.say("Ann")
            for action in ("done", "done"):
                await ann.tap(action)
        if step == "team_description":
            await ann.tap("skip")
            await ann.say("Rocket")
        state_before, _ = dialogue(settings, 1)
        before = len(telegram.messages(1))
        now = int(time.time())
        # the app sends both pieces at once; the bot may read them much later
        telegram.send_text(1, PASTE, first_name="Ann", language_code=lang, date=now)
        telegram.send_text(1, rest.strip(), first_name="Ann", language_code=lang, date=now + 1)
        await settle(telegram)
        refusals = ann.texts()[before:]
        state_after, data = dialogue(settings, 1)
        # a text of its own, sent later, is taken
        await ann.say("Short and true", date=now + 30)
        _, taken = dialogue(settings, 1)
    total = 4096 + len(rest.strip())
    assert len(refusals) == 2
    if lang == "en":
        assert refusals[1] == (
            "That was the rest of the same long text (Telegram sent it in parts): "
            f"{total:,} characters in all; the limit is "
            f"{ {'bio': 500, 'name': 64, 'team_description': '1,000'}[step] }. "
            "Nothing is saved: please send a shorter text."
        )
    else:
        assert refusals[0].startswith("Здесь 4\xa0096 символов, а можно не больше 500.")
        assert refusals[1] == (
            "Это продолжение того же длинного текста (Telegram отправил его по частям): "
            f"всего {total:,} символов, а можно не больше 500. ".replace(",", "\xa0", 1)
            + "Ничего не сохранено — пришлите текст короче."
        )
    assert state_after == state_before  # the step is asked again, nothing taken
    field = {"bio": "bio", "name": "display_name", "team_description": "team_description"}[step]
    assert rest.strip() not in str(data.get(field))
    assert taken[field] == "Short and true"


async def test_a_shorter_text_right_after_a_short_refusal_is_taken(
    telegram: FakeTelegram, settings: Settings
) -> None:
    # 600 characters are no piece of a split paste: the quick correction is the answer
    ann = Person(telegram, 1, "en")
    async with running(settings):
        await register(telegram, 1, role="participant")
        await ann.say("/profile")
        for label in ("Edit profile", "About me"):
            await ann.tap(label)
        now = int(time.time())
        telegram.send_text(1, "y" * 600, first_name="Ann", date=now)
        telegram.send_text(1, "y" * 400, first_name="Ann", date=now)
        await settle(telegram)
        state, data = dialogue(settings, 1)
    assert (state, data["bio"]) == ("Registration:confirm", "y" * 400)


# --- commands and forged buttons


async def test_a_command_at_a_typing_step_is_the_command(
    telegram: FakeTelegram, settings: Settings
) -> None:
    ann = Person(telegram, 1, "en")
    async with running(settings):
        await ann.begin()
        await ann.say("/search")
        answer = ann.texts()[-1]
        await ann.say("/help")
        state, data = dialogue(settings, 1)
    assert answer == "Register first: /start."
    assert state == "Registration:name" and "display_name" not in data


FORGED = [
    "lang:xx",
    "lang:",
    "role:admin",
    "role:team:extra",
    "tag:skills:" + "a" * 53,  # 64 bytes in all
    "tag:skills:" + "я" * 40,
    "tag:skills:solidity",  # no button offers it
    "tag:skills:",
    "tag:looking_for:python",  # the other field
    "tag:bio:python",
    "step:fly",
    "step:confirm",  # not at this step
    "step:" + "9" * 60,
    "prof:nuke",
    "prof:delete_yes:1",
    "pedit:email",
    "pedit:-1",
    "pedit:" + "x" * 59,
]


async def test_forged_registration_and_profile_buttons_get_the_neutral_answer(
    telegram: FakeTelegram, settings: Settings
) -> None:
    ann = Person(telegram, 1, "en")
    async with running(settings) as app:
        await register(telegram, 2, role="participant")
        await ann.begin()
        await ann.say("Ann")
        prompt = telegram.last_message(1)
        answered = len(telegram.callback_answers)
        for data in FORGED:
            telegram.press_button(1, prompt.message_id, data)
            telegram.press_button(2, telegram.last_message(2).message_id, data)
        await settle(telegram)
        state, chosen = dialogue(settings, 1)
        failed = failures(app)
    answers = [a[1] for a in telegram.callback_answers[answered:]]
    assert answers == [STALE] * (2 * len(FORGED))
    assert failed == 0
    assert state == "Registration:skills" and chosen["skills"] == []
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        assert conn.execute("select deleted_at, language from users where id = 2").fetchone() == (
            None,
            "en",
        )
