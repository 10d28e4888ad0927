"""Every button press gets exactly one answer: a handler that fails after answering still
reaches the person (its apology becomes a chat message), one that fails before answering
apologises in the press's answer, a press nothing answered (a banned person's) is answered
anyway, and a value from a button that the database refuses is a forged button (the neutral
answer), not a bug. Then a seeded fuzz over every kind of button the bot has. (The fake Bot
API refuses a second answer to one press as Telegram does: tests/test_fake_telegram.py.)"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import psycopg
import pytest
from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from annotated_types import Ge, Gt, Le, Lt
from loguru import logger

from teambot.adapters.database import Database
from teambot.config import Settings
from teambot.services.skills import CURATED
from teambot.texts import LANGUAGES, text
from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram
from tests.test_conversations import settle
from tests.test_teams import invite, join, seed

pytestmark = pytest.mark.anyio

APOLOGY = {
    "en": "Sorry, something went wrong on my side. Please try again.",
    "ru": "Извините, у меня что-то пошло не так. Попробуйте ещё раз.",
}


class LogLines:
    """Every log record of the bot while it runs, to look for tracebacks and failures."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __enter__(self) -> LogLines:
        self._sink = logger.add(self.records.append, level="DEBUG", format="{message}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        logger.remove(self._sink)

    def tracebacks(self) -> list[str]:
        return [
            f"{r.record['message']}: {r.record['exception']!r}"  # type: ignore[attr-defined]
            for r in self.records
            if r.record["exception"] is not None  # type: ignore[attr-defined]
        ]

    def messages(self) -> list[str]:
        return [r.record["message"] for r in self.records]  # type: ignore[attr-defined]

    def errors(self) -> list[str]:
        return [
            r.record["message"]  # type: ignore[attr-defined]
            for r in self.records
            if r.record["level"].no >= logger.level("ERROR").no  # type: ignore[attr-defined]
        ]


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
async def test_a_handler_failing_after_its_answer_takes_it_back_and_apologises_instead(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    async with running(settings, broken_buttons()):
        await press_and_wait(telegram, 1, "answers_then_fails", lang)
        await telegram.wait_until(lambda: bool(telegram.callback_answers))
    # "Working on it" belonged to the update's unit of work, which failed: never sent
    assert [answer for _, answer, _ in telegram.callback_answers] == [APOLOGY[lang]]
    assert len(telegram.messages(1)) == 1  # /help's answer, no apology message beside it
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


async def test_a_banned_persons_presses_are_answered_too(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1)
    with psycopg.connect(url) as conn:
        conn.execute("update users set is_banned = true where id = 1")
    async with running(settings):
        telegram.press_button(1, 1, "prof:pause")
        last = telegram.press_button(1, 1, "card:next:2:0")
        await telegram.wait_confirmed(last)
        await settle(telegram)
    assert telegram.unanswered_callbacks == []
    assert len(telegram.callback_answers) == 2
    assert [m.text for m in telegram.messages(1)] == ["Your account is blocked by the moderators."]


def database_refusing_router() -> Router:
    router = Router(name="refusing")

    @router.callback_query(F.data.startswith("big:"))
    async def big(query: CallbackQuery, database: Database, state: FSMContext) -> None:
        number = int((query.data or "").split(":")[1])  # a field its router forgot to bound
        await state.set_state("refusing:asked")  # a dialogue step the press would begin
        await database.run(lambda conn: conn.execute("select %s::bigint", (number,)))
        await query.answer("fine")

    @router.message(StateFilter("refusing:asked"))
    async def in_dialogue(message: Message, state: FSMContext) -> None:
        await state.clear()
        await message.answer("in the dialogue")

    @router.message(F.text.startswith("big "))
    async def typed_big(message: Message, database: Database) -> None:
        number = int((message.text or "").split()[1])
        await database.run(lambda conn: conn.execute("select %s::bigint", (number,)))

    return router


async def test_a_press_whose_value_the_database_refuses_gets_the_neutral_answer(
    telegram: FakeTelegram, settings: Settings
) -> None:
    with LogLines() as log:
        async with running(settings, database_refusing_router()) as app:
            telegram.press_button(1, 1, f"big:{2**64}")
            telegram.send_text(1, "hello")  # the refused press began no dialogue
            telegram.press_button(1, 1, "big:5")
            telegram.send_text(1, "hello")  # a press that went through did
            telegram.send_text(1, f"big {2**64}")  # typed, it is a bug: an apology
            await settle(telegram)
            failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert [answer for _, answer, _ in telegram.callback_answers] == [
        "This button is no longer active.",
        "fine",
    ]
    assert failed == 1
    assert [m.text for m in telegram.messages(1)] == [
        text("en", "unknown_input"),
        "in the dialogue",
        APOLOGY["en"],
    ]
    refused = [line for line in log.messages() if "refused" in line]
    assert refused == [
        f"button 'big:{2**64}' from user 1 refused: NumericValueOutOfRange('bigint out of range')"
    ]


# --- a fuzz over every kind of button the bot has


def callback_classes() -> list[type[CallbackData]]:
    """Every CallbackData the routers define (importing them registers the subclasses)."""
    from teambot.routers import feature_routers

    feature_routers()  # imports the routers' modules, which define them

    found: list[type[CallbackData]] = []
    stack = list(CallbackData.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls.__module__.startswith("teambot."):
            found.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__prefix__)


FREE_TEXT = {("tag", "tag")}  # a tag may be any word a person could type
PLAIN_DATA = ("resume",)  # buttons whose data is a plain string (the digest's Resume)
# numbers no button carries: each must get the neutral answer, never reach the database
BAD_NUMBERS = ("-1", "-9223372036854775808", "9223372036854775808", "1" * 30, "abc", "", "1.5")
BAD_WORDS = ("", "🚀", "DROP TABLE users", "x" * 40, "None", "0")


@dataclass(frozen=True)
class Forged:
    data: str
    invalid: bool  # no button of ours carries it: the neutral answer is expected


def literal_values(annotation: Any) -> tuple[str, ...] | None:
    """The values of a Literal, or of a union of Literals; None for any other type."""
    if get_origin(annotation) is Literal:
        return tuple(str(value) for value in get_args(annotation))
    if get_origin(annotation) in (Union, UnionType):
        parts = [literal_values(arg) for arg in get_args(annotation)]
        if all(part is not None for part in parts):
            return tuple(value for part in parts for value in part or ())
    return None


def choices_of(cls: type[CallbackData], name: str) -> tuple[str, ...] | None:
    """The values a choice field takes (its Literal); None for a number or free text."""
    return literal_values(cls.model_fields[name].annotation)


def is_number(cls: type[CallbackData], name: str) -> bool:
    annotation = cls.model_fields[name].annotation
    return isinstance(annotation, type) and issubclass(annotation, int)


def unbounded_fields() -> list[str]:
    """Fields of our buttons that still take any number, or any word where the bot's own
    buttons use a few: forged data there reaches a handler instead of the fallback."""
    loose = []
    for cls in callback_classes():
        for name, field in cls.model_fields.items():
            if is_number(cls, name):
                bounds = {type(rule) for rule in field.metadata}
                bounded = bounds & {Ge, Gt} and bounds & {Le, Lt}
            else:
                bounded = literal_values(field.annotation) is not None or (
                    (cls.__prefix__, name) in FREE_TEXT
                )
            if not bounded:
                loose.append(f"{cls.__prefix__}.{name}")
    return loose


def spoils(cls: type[CallbackData], name: str, bad_number: str) -> bool:
    """Whether a bad number makes the data one no button carries: aiogram packs a field's
    default as "" and reads "" back as it, so "" is a real value of a field with a default."""
    return bad_number != "" or cls.model_fields[name].is_required()


def forge(rng: random.Random, cls: type[CallbackData], numbers: Sequence[int]) -> Forged:
    sep = cls.__separator__
    names = list(cls.model_fields)
    parts: list[str] = []
    for name in names:
        if is_number(cls, name):
            parts.append(str(rng.choice(numbers)))
        else:
            options = choices_of(cls, name) or ("python", "go", "rust", "Design")
            parts.append(rng.choice(options))
    invalid = False
    how = rng.randrange(6)
    if how == 1:  # one field spoiled
        at = rng.randrange(len(names))
        name = names[at]
        if is_number(cls, name):
            parts[at] = rng.choice(BAD_NUMBERS)
            invalid = spoils(cls, name, parts[at])
        else:
            parts[at] = rng.choice(BAD_WORDS)
            invalid = choices_of(cls, name) is not None
    elif how == 2:  # a field missing, or one too many
        if rng.random() < 0.5 and len(parts) > 1 and cls.model_fields[names[-1]].is_required():
            parts.pop()
            invalid = True
        else:
            parts.append(rng.choice(("1", "x", "")))
            invalid = True
    data = sep.join([cls.__prefix__, *parts])
    if how == 3:  # cut short
        data = data[: rng.randrange(len(data))]
        invalid = _unpacks(cls, data) is False
    elif how == 4:  # padded to Telegram's 64 bytes
        data = (data + sep + "9" * 64)[:64]
        invalid = True
    elif how == 5 and is_number(cls, names[-1]):  # the largest key there is
        data = sep.join([cls.__prefix__, *parts[:-1], str(2**63 - 1)])
    return Forged(data, invalid)


def _unpacks(cls: type[CallbackData], data: str) -> bool:
    try:
        cls.unpack(data)
    except (TypeError, ValueError):
        return False
    return True


def choice_fields(cls: type[CallbackData]) -> list[str]:
    return [name for name in cls.model_fields if choices_of(cls, name) is not None]


def every_choice(cls: type[CallbackData]) -> list[dict[str, str]]:
    """Each combination of the class's choice fields' values."""
    combos: list[dict[str, str]] = [{}]
    for name in choice_fields(cls):
        combos = [
            {**combo, name: value} for combo in combos for value in choices_of(cls, name) or ()
        ]
    return combos


def packed(cls: type[CallbackData], values: dict[str, str]) -> str:
    return cls.__separator__.join([cls.__prefix__, *(values[name] for name in cls.model_fields)])


def fill(
    rng: random.Random, cls: type[CallbackData], numbers: Sequence[int], values: dict[str, str]
) -> dict[str, str]:
    """`values`, and for the other fields a number we might know or a tag."""
    return {
        name: values[name]
        if name in values
        else (str(rng.choice(numbers)) if is_number(cls, name) else rng.choice(CURATED))
        for name in cls.model_fields
    }


def forged_presses(seed: int, random_count: int, numbers: Sequence[int]) -> list[Forged]:
    """Every button kind with each choice and a bad number in each number field, a bad word
    in each choice field, the prefixes alone, plain strings; then random ones."""
    rng = random.Random(seed)
    classes = callback_classes()
    presses = [Forged(data, False) for data in PLAIN_DATA]
    presses += [Forged(f"{data}:1", True) for data in PLAIN_DATA]
    presses += [Forged(cls.__prefix__, True) for cls in classes]
    presses += [Forged("nothing:we:know", True), Forged("é" * 32, True)]
    bad_numbers = itertools.cycle(BAD_NUMBERS)
    for cls in classes:
        for combo in every_choice(cls):
            for name in cls.model_fields:
                if is_number(cls, name):
                    bad = next(bad_numbers)
                    data = packed(cls, fill(rng, cls, numbers, {**combo, name: bad}))
                    presses.append(Forged(data, spoils(cls, name, bad)))
        for name in choice_fields(cls):
            for word in BAD_WORDS:
                presses.append(Forged(packed(cls, fill(rng, cls, numbers, {name: word})), True))
    while len(presses) < random_count:
        presses.append(forge(rng, rng.choice(classes), numbers))
    return presses


async def test_forged_presses_of_every_kind_fail_nothing_and_get_one_neutral_answer(
    telegram: FakeTelegram, database_url: str
) -> None:
    owner, member, applicant, cofounder, newcomer, admin, stranger = range(101, 108)
    settings = make_settings(
        telegram, database_url, admin_ids=[admin], rate_limit_presses_per_minute=600
    )
    url = settings.database_conninfo() or ""
    team = seed(url, owner, role="team")
    assert team is not None
    seed(url, member)
    join(url, team, member)
    seed(url, applicant, lang="ru")
    seed(url, cofounder, role="cofounder")
    seed(url, admin)
    request = invite(url, applicant, owner, team, "request")
    connect = invite(url, cofounder, admin, None, "connect")
    languages = {owner: "en", member: "en", applicant: "ru", cofounder: "en"}
    languages |= {newcomer: "en", admin: "en", stranger: "en"}
    numbers = [0, 1, 2, 3, team, request, connect, *languages]
    presses = forged_presses(seed=20240509, random_count=300, numbers=numbers)
    people = list(languages)
    rng = random.Random(7)
    pressed: dict[str, tuple[Forged, int]] = {}  # query id -> what and who
    with LogLines() as log:
        async with running(settings) as app:
            # someone in the middle of registering, whose dialogue the presses meet
            telegram.send_text(newcomer, "/start")
            await telegram.wait_for_messages(newcomer, 1)
            telegram.press(newcomer, "English")
            await settle(telegram)
            telegram.press(newcomer, "Participant")
            await settle(telegram)
            # real cards and keyboards under which the forged presses arrive
            for person in people:
                for command in ("/search", "/team", "/profile", "/invitations"):
                    telegram.send_text(person, command, language_code=languages[person])
            await settle(telegram)
            chats = {person: telegram.messages(person) for person in people}
            for forged in presses:
                person = rng.choice(people)
                # mostly under a message the bot sent; else one it cannot see (date 0)
                message_id = rng.choice(chats[person]).message_id if rng.random() < 0.9 else 10**6
                update_id = telegram.press_button(
                    person, message_id, forged.data, language_code=languages[person]
                )
                pressed[telegram.callback_query_id(update_id)] = (forged, person)
            await settle(telegram)
            failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert failed == 0
    assert log.tracebacks() == []
    assert log.errors() == []
    assert telegram.unanswered_callbacks == []
    refused = [c.params for c in telegram.calls_of("answerCallbackQuery") if c.status != 200]
    assert refused == []  # no press was answered twice
    answers = {query_id: answer for query_id, answer, _ in telegram.callback_answers}
    assert len(answers) == len(telegram.callback_answers)
    assert set(pressed) <= set(answers)
    # Up to here the bot's own safety nets; from here each router's bounds on its fields.
    # a forged press may have switched its presser's language (lang:ru is a real button)
    neutral = {text(lang, "stale_button") for lang in LANGUAGES}
    wrong = sorted(
        f"{person} {forged.data!r}: {answers[query_id]!r}"
        for query_id, (forged, person) in pressed.items()
        if forged.invalid and answers[query_id] not in neutral
    )
    assert unbounded_fields() == []
    assert wrong == [], "\n".join(wrong)
