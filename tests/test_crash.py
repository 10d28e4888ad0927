"""SIGKILL at random moments of mixed traffic, repeated with several seeds.

Ten people talk to `teambot run` (a real process) through the fake Bot API, each a closed
loop that reads the screen and does the next thing a person would: register through the
dialogue (participant, co-founder, team), /search, Next, invite with and without a note,
accept or decline what arrives. Meanwhile the bot is killed with SIGKILL at seeded random
moments and started again at once. Afterwards, as the people would notice it:

- every update was handled: each message and button press got an answer, no button kept
  spinning, and Telegram holds nothing unconfirmed;
- every profile says exactly what its owner typed: a message delivered again after a
  crash is not read a second time by a later step of the dialogue;
- nothing happened twice: one invitation row per invitation someone sent, each invitation
  shown to its recipient at most once, one "accepted" notice each way per accepted
  invitation, nobody in two teams, no half-written profile or team.

What the design cannot promise, and so is counted and printed, not asserted: a crash after
a handler committed an invitation or an answer but before the Bot API took the notices
loses those notices; a crash after a reply was sent but before the update was recorded as
handled sends that reply again.
"""

from __future__ import annotations

import random
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fluent.syntax import FluentParser
from fluent.syntax import ast as fluent_ast

from teambot.services.skills import parse_tags
from teambot.texts import locale_source, text
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_process import BotProcess, wait_ready

pytestmark = pytest.mark.slow

ROLES = (
    "team",
    "participant",
    "cofounder",
    "participant",
    "team",
    "cofounder",
    "participant",
    "team",
    "participant",
    "cofounder",
)
SKILLS = ("python", "design", "go", "sales", "rust", "frontend", "marketing", "devops")
KILLS = 5
QUIET = 0.15  # a step is answered once the chat has been still this long
STUCK = 45.0  # an update unanswered this long (restarts included) is lost
POSITION = re.compile(r"(\d+) of (\d+)\s*$")


def t(key: str, **values: object) -> str:
    return text("en", key, **values)


_ENGLISH = {
    entry.id.name: entry
    for entry in FluentParser().parse(locale_source("en")).body
    if isinstance(entry, fluent_ast.Message)
}


def _prefix(key: str) -> str:
    """The start of a message, up to its first variable."""
    value = _ENGLISH[key].value
    assert value is not None
    start = ""
    for element in value.elements:
        if not isinstance(element, fluent_ast.TextElement):
            break
        start += element.value
    return start[:30]


@dataclass(frozen=True)
class Sent:
    """A message or edit the bot made, as the fake accepted it."""

    method: str
    chat: int
    message_id: int | None
    text: str
    data: tuple[str, ...]


class Recorder:
    """Notes every update put on the fake server and every answer the bot gave."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.lock = threading.Lock()
        self.sent: list[Sent] = []
        self.touched_at: dict[int, float] = {}  # chat -> last send / edit
        self.answers: dict[str, float] = {}  # callback query id -> when answered
        self.update_ids: list[int] = []
        self.since_restart = 0
        enqueue = fake.enqueue_raw

        def enqueue_raw(update: dict[str, Any]) -> int:
            update_id = enqueue(update)
            with self.lock:
                self.update_ids.append(update_id)
                self.since_restart += 1
            return update_id

        fake.enqueue_raw = enqueue_raw  # type: ignore[method-assign]
        handlers = fake._handlers
        for name in ("sendmessage", "editmessagetext", "editmessagereplymarkup"):
            handlers[name] = self._message(name, handlers[name])
        handlers["answercallbackquery"] = self._answer(handlers["answercallbackquery"])

    def _message(
        self, method: str, handler: Callable[[dict[str, Any]], Any]
    ) -> Callable[[dict[str, Any]], Any]:
        def recorded(params: dict[str, Any]) -> Any:
            result = handler(params)  # an ApiError is no answer
            chat = params.get("chat_id")
            if isinstance(chat, int):
                markup = params.get("reply_markup") or {}
                data = tuple(
                    str(button.get("callback_data"))
                    for row in markup.get("inline_keyboard") or []
                    for button in row
                )
                message_id = result.get("message_id") if isinstance(result, dict) else None
                sent = Sent(method, chat, message_id, str(params.get("text") or ""), data)
                with self.lock:
                    self.sent.append(sent)
                    self.touched_at[chat] = time.monotonic()
            return result

        return recorded

    def _answer(self, handler: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        def recorded(params: dict[str, Any]) -> Any:
            result = handler(params)
            with self.lock:
                self.answers[str(params.get("callback_query_id"))] = time.monotonic()
            return result

        return recorded

    def sends(self, chat: int | None = None) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.method == "sendmessage" and chat in (None, s.chat)]


@dataclass
class Flight:
    """One update a person sent and waits to see answered."""

    update_id: int
    what: str
    at: float
    query_id: str | None = None


@dataclass
class Person:
    uid: int
    role: str
    rng: random.Random
    name: str
    skills: str
    wants: str
    bio: str
    team: str
    rounds: int
    phase: str = "register"  # register, search, browse, note, done
    flight: Flight | None = None
    nexts: int = 0
    empty_searches: int = 0
    asked_after = 0  # the newest message id when the person pressed Connect
    intents: Counter[int] = field(default_factory=Counter)  # invitations meant, per target
    answered: set[int] = field(default_factory=set)  # incoming invitation message ids
    accepts: Counter[int] = field(default_factory=Counter)  # invitation id -> accept presses
    not_before: float = 0.0

    @property
    def who(self) -> dict[str, Any]:
        return {"first_name": f"User{self.uid}", "language_code": "en"}


def make_people(seed: int) -> list[Person]:
    people = []
    for n, role in enumerate(ROLES):
        uid = 7000 + n
        rng = random.Random(f"{seed}:{uid}")
        people.append(
            Person(
                uid=uid,
                role=role,
                rng=rng,
                name=f"Person {uid}",
                skills=", ".join(rng.sample(SKILLS, rng.randint(1, 3))),
                wants=", ".join(rng.sample(SKILLS, rng.randint(1, 2))),
                bio=f"Bio of {uid}" if rng.random() < 0.5 else "",
                team=f"Crew {uid}" if role == "team" else "",
                rounds=rng.randint(2, 3),
            )
        )
    return people


def _chosen(message: SentMessage) -> set[str]:
    line = message.text.rsplit("\n", 1)[-1]
    return set(parse_tags(line.split(":", 1)[-1])) if ":" in line else set()


class Traffic:
    """Everyone's closed loop, and the killer, in one polling loop."""

    def __init__(
        self,
        fake: FakeTelegram,
        recorder: Recorder,
        people: list[Person],
        start: Callable[[], BotProcess],
    ) -> None:
        self.fake = fake
        self.recorder = recorder
        self.people = people
        self.start = start
        self.bot = start()
        self.kills = 0
        self.answered_late = 0

    # --- acting ---------------------------------------------------------------------------

    def say(self, person: Person, words: str) -> None:
        update_id = self.fake.send_text(person.uid, words, **person.who)
        person.flight = Flight(update_id, f"say {words!r}", time.monotonic())

    def press(self, person: Person, message: SentMessage, data: str) -> None:
        update_id = self.fake.press_button(person.uid, message.message_id, data, **person.who)
        query_id = self._query_of(update_id)
        person.flight = Flight(update_id, f"press {data!r}", time.monotonic(), query_id)

    def _query_of(self, update_id: int) -> str | None:
        for update in self.fake.pending_updates():
            if update["update_id"] == update_id:
                return str(update["callback_query"]["id"])
        return None  # already confirmed: answered for sure

    def press_label(self, person: Person, message: SentMessage, label: str) -> None:
        data = message.callback_data(label)
        if data is None:  # the step's buttons are gone and its next prompt is not here yet:
            person.not_before = time.monotonic() + 0.3  # it comes with the restarted bot
            return
        self.press(person, message, data)

    def register_step(self, person: Person, screen: list[SentMessage]) -> None:
        """The next step of the registration dialogue, from what the screen shows last."""
        if any(m.text.startswith(_prefix("registered")) for m in screen):
            person.phase = "search"  # a confirmation card shown again after it is stale
            return
        steps = ("ask_name", "ask_skills", "ask_wants", "ask_bio", "ask_team_description")
        newest = screen[-1] if screen else None
        if (
            newest is not None
            and newest.edited
            and not newest.buttons
            and newest.text.startswith(tuple(_prefix(step) for step in steps))
        ):
            # that step is over (its buttons were taken away) and the next prompt is not
            # here yet: it comes with the restarted bot, which takes the step again
            person.not_before = time.monotonic() + 0.3
            return
        for message in reversed(screen):
            body = message.text
            if "English" in message.buttons:
                return self.press_label(person, message, "English")
            if t(f"role_{person.role}") in message.buttons:
                return self.press_label(person, message, t(f"role_{person.role}"))
            if body.startswith(_prefix("ask_name")):
                return self.say(person, person.name)
            if body.startswith(_prefix("ask_skills")) or body.startswith(_prefix("ask_wants")):
                typed = person.skills if body.startswith(_prefix("ask_skills")) else person.wants
                if set(parse_tags(typed)) <= _chosen(message) and t("done") in message.buttons:
                    return self.press_label(person, message, t("done"))
                return self.say(person, typed)
            if body.startswith(_prefix("ask_bio")):
                if person.bio:
                    return self.say(person, person.bio)
                return self.press_label(person, message, t("skip"))
            if body.startswith(_prefix("ask_team_name")):
                return self.say(person, person.team)
            if body.startswith(_prefix("ask_team_description")) and t("skip") in message.buttons:
                return self.press_label(person, message, t("skip"))
            if t("confirm") in message.buttons:
                return self.press_label(person, message, t("confirm"))
        return self.say(person, "/start")

    def social_step(self, person: Person, screen: list[SentMessage]) -> None:
        incoming = [
            m
            for m in screen
            if m.message_id not in person.answered
            and any(str(b).startswith("inv:accept:") for b in self._data(m))
        ]
        if incoming:
            message = incoming[0]
            person.answered.add(message.message_id)
            accept = person.rng.random() < 0.6
            data = next(d for d in self._data(message) if d.startswith("inv:accept:"))
            if accept:
                person.accepts[int(data.rsplit(":", 1)[1])] += 1
            else:
                data = next(d for d in self._data(message) if d.startswith("inv:decline:"))
            return self.press(person, message, data)
        if person.phase == "search":
            person.phase = "browse"
            person.nexts = person.rng.randint(0, 2)
            return self.say(person, "/search")
        if person.phase == "browse":
            card = next((m for m in reversed(screen) if t("action_next") in m.buttons), None)
            if card is None:  # nobody to show yet: look again in a moment
                person.empty_searches += 1
                person.phase = "search" if person.empty_searches < 8 else self._round_over(person)
                person.not_before = time.monotonic() + 0.3
                return None
            position = POSITION.search(card.text)
            if person.nexts and position is not None and int(position.group(2)) >= 2:
                person.nexts -= 1
                return self.press_label(person, card, t("action_next"))
            if person.rng.random() < 0.85:
                person.phase = "note"
                person.asked_after = screen[-1].message_id
                return self.press(person, card, self._data(card)[0])
            person.phase = self._round_over(person)
            return None
        if person.phase == "note":
            # the question this press brought, not one left over from an earlier round
            ask = next(
                (
                    m
                    for m in reversed(screen)
                    if m.message_id > person.asked_after and t("send_without_note") in m.buttons
                ),
                None,
            )
            person.phase = self._round_over(person)
            if ask is None:
                return None
            data = ask.callback_data(t("send_without_note"))
            assert data is not None
            person.intents[int(data.split(":")[2])] += 1
            if person.rng.random() < 0.5:
                return self.press(person, ask, data)
            return self.say(person, f"Note from {person.uid}: let us build it")
        return None

    @staticmethod
    def _round_over(person: Person) -> str:
        person.rounds -= 1
        return "search" if person.rounds > 0 else "done"

    @staticmethod
    def _data(message: SentMessage) -> list[str]:
        rows = (message.reply_markup or {}).get("inline_keyboard") or []
        return [str(b.get("callback_data")) for row in rows for b in row]

    # --- waiting --------------------------------------------------------------------------

    def answered(self, person: Person, now: float) -> bool:
        flight = person.flight
        assert flight is not None
        with self.recorder.lock:
            touched = self.recorder.touched_at.get(person.uid, 0.0)
            answer = self.recorder.answers.get(flight.query_id or "", 0.0)
        if flight.query_id is not None and not answer:
            return False
        last = max(touched, answer)
        return last >= flight.at and now - last >= QUIET

    def idle(self, person: Person, screen: list[SentMessage]) -> bool:
        if person.phase != "done":
            return False
        return not any(
            m.message_id not in person.answered
            and any(d.startswith("inv:accept:") for d in self._data(m))
            for m in screen
        )

    # --- the loop -------------------------------------------------------------------------

    def run(self, rng: random.Random, deadline: float) -> None:
        kill_after = rng.randint(3, 25)
        kill_at: float | None = None
        while True:
            now = time.monotonic()
            assert now < deadline, self.report("the run took too long")
            if self.bot.proc.poll() is not None:
                raise AssertionError(f"the bot exited by itself\n{self.bot.output()[-3000:]}")
            if self.kills < KILLS:
                if kill_at is None and self.recorder.since_restart >= kill_after:
                    kill_at = now + rng.uniform(0, 0.3)
                if kill_at is not None and now >= kill_at:
                    self.bot.signal(signal.SIGKILL)
                    self.bot.wait(10)
                    self.kills += 1
                    with self.recorder.lock:
                        self.recorder.since_restart = 0
                    self.bot = self.start()
                    kill_after, kill_at = rng.randint(3, 25), None
            everyone_idle = True
            for person in self.people:
                if person.flight is not None:
                    everyone_idle = False
                    if self.answered(person, now):
                        person.flight = None
                    elif now - person.flight.at > STUCK:
                        raise AssertionError(self.report(f"{person.uid} waits for an answer"))
                    continue
                if now < person.not_before:
                    everyone_idle = False
                    continue
                screen = self.fake.messages(person.uid)
                if person.phase == "register":
                    everyone_idle = False
                    self.register_step(person, screen)
                elif not self.idle(person, screen):
                    everyone_idle = False
                    self.social_step(person, screen)
            if everyone_idle and self.kills >= KILLS:
                return
            time.sleep(0.02)

    def report(self, what: str) -> str:
        lines = [what]
        for person in self.people:
            lines.append(f"{person.uid} {person.role} {person.phase} {person.flight}")
            lines += [
                f"    {m.message_id}: {m.text[:70]!r} {m.buttons}"
                for m in self.fake.messages(person.uid)[-4:]
            ]
        return "\n".join(lines) + "\n" + self.bot.output()[-4000:]


@pytest.fixture
def crash_env(bot_env: dict[str, str]) -> dict[str, str]:
    return {
        **bot_env,
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT_REQUESTS_PER_MINUTE": "100",  # people here tap quickly; never throttled
        "DIGEST_DELAY_SECONDS": "3600",  # no digests in the chats
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_random_moments_loses_no_update_and_repeats_no_effect(
    telegram: FakeTelegram, database_url: str, crash_env: dict[str, str], tmp_path: Path, seed: int
) -> None:
    recorder = Recorder(telegram)
    people = make_people(seed)
    started: list[BotProcess] = []

    def start() -> BotProcess:
        bot = BotProcess(crash_env, tmp_path / "bot.log")
        started.append(bot)
        return bot

    traffic = Traffic(telegram, recorder, people, start)
    try:
        wait_ready(telegram, traffic.bot)
        traffic.run(random.Random(seed), deadline=time.monotonic() + 120)
        telegram.wait_until_sync(
            lambda: telegram.pending_update_count == 0, timeout=30, what="everything confirmed"
        )
        traffic.bot.signal(signal.SIGTERM)
        assert traffic.bot.wait(30) == 0, traffic.bot.output()[-3000:]
    finally:
        for bot in started:
            if bot.proc.poll() is None:
                bot.proc.kill()
                bot.wait()
    assert traffic.kills == KILLS

    # every update was handled, every button press answered
    assert telegram.pending_update_count == 0
    assert telegram.unanswered_callbacks == []
    with psycopg.connect(database_url) as conn:
        profiles = {
            r[0]: r[1:]
            for r in conn.execute(
                "select id, user_type, display_name, skills, looking_for, bio, is_searching,"
                " registered_at is not null from users"
            )
        }
        teams = {r[0]: (r[1], r[2]) for r in conn.execute("select owner_id, id, name from teams")}
        members = conn.execute("select team_id, user_id from team_members").fetchall()
        invitations = conn.execute(
            "select id, sender_id, recipient_id, team_id, kind, status from invitations"
        ).fetchall()

    # every profile is what its owner typed, whole
    for person in people:
        expected_team = person.team if person.role == "team" else None
        assert profiles[person.uid] == (
            person.role,
            person.name,
            parse_tags(person.skills),
            parse_tags(person.wants),
            person.bio,
            True,
            True,
        ), traffic.report(f"profile of {person.uid}")
        assert (teams[person.uid][1] if person.uid in teams else None) == expected_team
    team_of: dict[int, int] = {}
    for team_id, user_id in members:
        assert user_id not in team_of, f"{user_id} is in two teams"
        team_of[user_id] = team_id
    for owner, (team_id, _) in teams.items():
        assert team_of.get(owner) == team_id, f"team {team_id} lacks its owner"

    # no invitation twice: rows only for invitations meant, each shown once to its recipient
    rows_per_pair = Counter((sender, recipient) for _, sender, recipient, *_ in invitations)
    intents = {(p.uid, target): n for p in people for target, n in p.intents.items()}
    for pair, rows in rows_per_pair.items():
        assert rows <= intents.get(pair, 0), f"{rows} invitations {pair}, meant {intents.get(pair)}"
    shown = Counter(
        (s.chat, d) for s in recorder.sends() for d in s.data if d.startswith("inv:accept:")
    )
    assert all(n == 1 for n in shown.values()), [k for k, n in shown.items() if n > 1]

    # no double accept: a joined person is in a team, one "accepted" notice each way
    accepted = [row for row in invitations if row[5] == "accepted"]
    for _, sender, recipient, team_id, kind, _ in accepted:
        if team_id is not None:
            assert (recipient if kind == "invite" else sender) in team_of
    lost = Counter[str]()
    for sender in people:
        for recipient in people:
            times = sum(1 for row in accepted if row[1:3] == (sender.uid, recipient.uid))
            they_accepted = f"<b>{recipient.name}</b> accepted!"
            told_sender = sum(
                1 for s in recorder.sends(sender.uid) if s.text.startswith(they_accepted)
            )
            told_recipient = sum(
                1
                for s in recorder.sends(recipient.uid)
                if s.text.startswith("Accepted. Reach them at") and f'id={sender.uid}"' in s.text
            )
            assert told_sender <= times and told_recipient <= times, (sender.uid, recipient.uid)
            lost["accepted notices"] += 2 * times - told_sender - told_recipient
    for invitation_id, _, recipient, *_ in invitations:
        if (recipient, f"inv:accept:{invitation_id}") not in shown:
            lost["incoming invitations"] += 1
    sends = recorder.sends()
    repeated = len(sends) - len({(s.chat, s.text, s.data) for s in sends})
    print(
        f"seed {seed}: {len(recorder.update_ids)} updates, {traffic.kills} kills,"
        f" {len(invitations)} invitations ({len(accepted)} accepted);"
        f" lost to a crash between commit and notice: {dict(lost)};"
        f" messages sent again: {repeated}"
    )
