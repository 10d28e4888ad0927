"""SIGKILL at random moments of mixed traffic, repeated with several seeds, on both backends;
and the same traffic against three instances of one bot whose leader is killed each time.

Ten people talk to `teambot run` (a real process) through the fake Bot API, each a closed
loop that reads the screen and does the next thing a person would: register through the
dialogue (participant, co-founder, team), /search, Next, report a profile, invite with and
without a note, take an invitation back, accept or decline what arrives. Meanwhile the bot
is killed with SIGKILL every few updates and started again at once, on the other backend
than before: mostly at a random moment within 0.2 s after someone invited, answered, took
back or reported (while the bot is likely between its commit and its messages), otherwise at
any random moment. After a final clean stop, as the people and the operator would notice it:

- every update was handled: each message and button press got an answer, no button kept
  spinning, Telegram holds nothing unconfirmed, and every update id Telegram delivered is
  recorded as handled;
- nothing failed: no "something went wrong" apology (in either language) was sent, and the
  log names no failed update;
- every profile says exactly what its owner typed: a message delivered again after a crash
  is not read a second time by a later step of the dialogue;
- nothing happened twice: one invitation row per invitation someone meant, nobody in two
  teams, nobody in a team without an accepted invitation, no half-written profile or team;
- no notice was lost: what the database holds after the final stop (invitations with their
  status, team members, reports) is compared with what reached each person concerned, in
  the words of the text catalog: the recipient's invitation and the sender's confirmation,
  both sides of an accept or a decline, the sender's word on a cancel and the recipient's
  invitation closed, the moderator's report.

Counted and printed: the messages sent again per kill (a crash between Telegram taking a
message and its sent-mark may send it twice), and, from the bot's log and the fake's
deliveries, how the kills landed: updates delivered again after a restart, skipped as
handled before, and messages left from before that the restarted bot sent.
"""

from __future__ import annotations

import bisect
import random
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import psycopg
import pytest
from fluent.syntax import FluentParser
from fluent.syntax import ast as fluent_ast

from teambot.services.skills import parse_tags
from teambot.texts import LANGUAGES, locale_source, text
from teambot.utils import escape
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_operations import free_port
from tests.test_process import WEBHOOK, BotProcess

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
ADMIN = 6999  # ADMIN_IDS: gets the reports; takes no part otherwise
KILLS = 4  # per seed; each restart costs a few CPU seconds of imports (the file is in the suite)
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
    at: float

    @property
    def key(self) -> tuple[int, str, tuple[str, ...]]:
        return self.chat, self.text, self.data


@dataclass(frozen=True)
class Delivery:
    """One getUpdates answer: what the bot asked for (offset) and what it got."""

    asked_at: float
    answered_at: float
    offset: int
    update_ids: tuple[int, ...]


class Recorder:
    """Notes every update put on the fake server, every delivery of updates, and every
    answer the bot gave."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.lock = threading.Lock()
        self.sent: list[Sent] = []
        self.touched_at: dict[int, float] = {}  # chat -> last send / edit
        self.answers: dict[str, float] = {}  # callback query id -> when answered
        self.answer_texts: list[str] = []  # what the presses' answers said
        self.deliveries: list[Delivery] = []
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
        handlers["getupdates"] = self._deliver(handlers["getupdates"])

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
                now = time.monotonic()
                sent = Sent(method, chat, message_id, str(params.get("text") or ""), data, now)
                with self.lock:
                    self.sent.append(sent)
                    self.touched_at[chat] = now
            return result

        return recorded

    def _answer(self, handler: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        def recorded(params: dict[str, Any]) -> Any:
            result = handler(params)
            with self.lock:
                self.answers[str(params.get("callback_query_id"))] = time.monotonic()
                self.answer_texts.append(str(params.get("text") or ""))
            return result

        return recorded

    def _deliver(
        self, handler: Callable[[dict[str, Any]], Awaitable[list[dict[str, Any]]]]
    ) -> Callable[[dict[str, Any]], Awaitable[list[dict[str, Any]]]]:
        async def recorded(params: dict[str, Any]) -> list[dict[str, Any]]:
            asked_at = time.monotonic()
            result = await handler(params)
            ids = tuple(int(update["update_id"]) for update in result)
            delivery = Delivery(asked_at, time.monotonic(), int(params.get("offset") or 0), ids)
            with self.lock:
                self.deliveries.append(delivery)
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
    asking = 0  # the card reference (search_cards) of the person Connect was pressed for
    intents: Counter[int] = field(default_factory=Counter)  # invitations meant, per card ref
    answered: set[int] = field(default_factory=set)  # incoming invitation message ids
    accepts: Counter[int] = field(default_factory=Counter)  # invitation id -> accept presses
    cancels: set[int] = field(default_factory=set)  # invitation ids I pressed Cancel on
    considered: set[int] = field(default_factory=set)  # my confirmations, Cancel or not
    reported: bool = False
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
        start: Callable[[], Bot],
    ) -> None:
        self.fake = fake
        self.recorder = recorder
        self.people = people
        self.start = start
        self.bot = start()
        self.kills = 0
        self.killed_at: list[float] = []  # when each killed process was gone
        self.acted_at = 0.0  # the last invitation, answer, cancel or report someone sent

    # --- acting ---------------------------------------------------------------------------

    def say(self, person: Person, words: str) -> None:
        update_id = self.fake.send_text(person.uid, words, **person.who)
        person.flight = Flight(update_id, f"say {words!r}", time.monotonic())

    def press(self, person: Person, message: SentMessage, data: str) -> None:
        update_id = self.fake.press_button(person.uid, message.message_id, data, **person.who)
        query_id = self._query_of(update_id)
        person.flight = Flight(update_id, f"press {data!r}", time.monotonic(), query_id)

    def act(self, person: Person, message: SentMessage | None, data: str) -> None:
        """A step that changes something for someone else: `data` pressed, or said."""
        if message is None:
            self.say(person, data)
        else:
            self.press(person, message, data)
        self.acted_at = time.monotonic()

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
        steps = (
            "ask_name",
            "ask_skills",
            "ask_wants",
            "ask_bio",
            "ask_team_description",
            "pf_ask_hours",
        )
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
            if t("pf_skip_rest") in message.buttons:  # the matching fields: later
                return self.press_label(person, message, t("pf_skip_rest"))
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
            return self.act(person, message, data)
        for message in screen:  # an invitation of mine still open: sometimes taken back
            cancel = next((d for d in self._data(message) if d.startswith("inv:cancel:")), None)
            if cancel is None or message.message_id in person.considered:
                continue
            person.considered.add(message.message_id)
            if person.rng.random() < 0.3:
                person.cancels.add(int(cancel.rsplit(":", 1)[1]))
                return self.act(person, message, cancel)
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
            if not person.reported and person.rng.random() < 0.15:
                person.reported = True  # the card moves on to the next one
                report = next(d for d in self._data(card) if d.startswith("card:report:"))
                return self.act(person, card, report)
            if person.rng.random() < 0.85:
                person.phase = "note"
                person.asked_after = screen[-1].message_id
                connect = self._data(card)[0]  # card:connect:<ref>:<offset>
                person.asking = int(connect.split(":")[2])
                return self.press(person, card, connect)
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
            without_note = ask.callback_data(t("send_without_note"))
            assert without_note is not None
            person.intents[person.asking] += 1
            if person.rng.random() < 0.5:
                return self.act(person, ask, without_note)
            return self.act(person, None, f"Note from {person.uid}: let us build it")
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
        """Everyone's next steps, and a kill after every few updates: at a random moment, or
        (more often) a moment after someone invites, answers, takes back or reports, while
        the bot is likely to be handling it, between its commit and its messages."""
        kill_after = rng.randint(3, 25)
        kill_at: float | None = None
        armed_at: float | None = None  # enough updates since the restart: a kill is due
        aimed = rng.random() < 0.6
        while True:
            now = time.monotonic()
            assert now < deadline, self.report("the run took too long")
            if self.bot.exited():
                raise AssertionError(f"the bot exited by itself\n{self.bot.output()[-3000:]}")
            if self.kills < KILLS:
                if armed_at is None and self.recorder.since_restart >= kill_after:
                    armed_at = now
                if kill_at is None and armed_at is not None:
                    if not aimed or now - armed_at > 5:  # nobody does such a thing now
                        kill_at = now + rng.uniform(0, 0.3)
                    elif self.acted_at > armed_at:
                        kill_at = self.acted_at + rng.uniform(0, 0.2)
                if kill_at is not None and now >= kill_at:
                    self.bot.signal(signal.SIGKILL)
                    self.bot.wait(10)
                    self.killed_at.append(time.monotonic())
                    self.kills += 1
                    with self.recorder.lock:
                        self.recorder.since_restart = 0
                    self.bot = self.start()
                    kill_after, kill_at, armed_at = rng.randint(3, 25), None, None
                    aimed = rng.random() < 0.6
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


# --- what the database holds after the final stop ------------------------------------------


@dataclass(frozen=True)
class User:
    language: str
    name: str  # as the bot shows it to others (HTML-escaped)


@dataclass(frozen=True)
class Invitation:
    id: int
    sender: int
    recipient: int
    team_id: int | None
    kind: str
    status: str


@dataclass(frozen=True)
class Committed:
    users: dict[int, User]
    profiles: dict[int, tuple[Any, ...]]
    teams: dict[int, tuple[int, str]]  # team id -> owner, name
    members: list[tuple[int, int]]  # team id, user id
    invitations: list[Invitation]
    reports: list[tuple[int, int]]  # reporter, reported
    on_card: dict[int, int]  # card reference -> the person on it
    handled: set[int]

    @classmethod
    def read(cls, database_url: str) -> Committed:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "select id, language, display_name, first_name, user_type, skills, looking_for,"
                " bio, is_searching, registered_at is not null from users"
            ).fetchall()
            teams = conn.execute("select id, owner_id, name from teams").fetchall()
            members = conn.execute("select team_id, user_id from team_members").fetchall()
            invitations = conn.execute(
                "select id, sender_id, recipient_id, team_id, kind, status from invitations"
            ).fetchall()
            reports = conn.execute("select reporter_id, reported_id from reports").fetchall()
            on_card = conn.execute("select id, candidate_id from search_cards").fetchall()
            handled = conn.execute("select update_id from handled_updates").fetchall()
        return cls(
            users={r[0]: User(r[1], escape(r[2] or r[3])) for r in rows},
            profiles={r[0]: (r[4], r[2], *r[5:]) for r in rows},
            teams={r[0]: (r[1], r[2]) for r in teams},
            members=[(r[0], r[1]) for r in members],
            invitations=[Invitation(*r) for r in invitations],
            reports=[(r[0], r[1]) for r in reports],
            on_card=dict(on_card),
            handled={r[0] for r in handled},
        )


# --- the notices each committed change owes, in the words of the text catalog ----------------

ANY = "\x00"  # a value the test does not predict (a contact: @username or a profile link)
INCOMING = {
    "invite": "incoming_invite",
    "request": "incoming_request",
    "connect": "incoming_connect",
}
SENT = {"invite": "invite_sent", "request": "team_join_sent", "connect": "connect_sent"}
CANCELLED = {
    "invite": "invite_cancelled",
    "request": "request_cancelled",
    "connect": "connect_cancelled",
}
# (what the one who answered reads, what the other side reads)
ANSWERED = {
    ("invite", "accepted"): ("invite_accepted_you", "invite_accepted_them"),
    ("invite", "declined"): ("invite_declined_you", "invite_declined_them"),
    ("request", "accepted"): ("team_request_accepted_by", "team_request_accepted"),
    ("request", "declined"): ("team_request_declined_by", "team_request_declined"),
    ("connect", "accepted"): ("connect_accepted_you", "connect_accepted_them"),
    ("connect", "declined"): ("connect_declined_you", "connect_declined_them"),
}


def shaped(lang: str, key: str, **values: object) -> re.Pattern[str]:
    """The catalog's message as a pattern for the start of a sent text; ANY matches anything."""
    body = text(lang, key, **values)
    return re.compile(".*?".join(re.escape(part) for part in body.split(ANY)), re.S)


@dataclass(frozen=True)
class Owed:
    """A message someone must have received."""

    chat: int
    what: str  # for the report: invitation, sent, accepted, declined, cancelled, joined, report
    pattern: re.Pattern[str]
    button: str | None  # callback data it carries, when that names the invitation
    about: str


@dataclass
class Owing:
    owed: list[Owed] = field(default_factory=list)
    # a cancel both sides may have made (the sender took it back, the owner accepted it after
    # the sender joined another team): whichever committed, one of the two is owed
    either: list[tuple[Owed, Owed]] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)  # closed, and nobody did it


def owed_notices(db: Committed, people: list[Person]) -> Owing:
    """What each committed invitation, answer, team change and report owes to whom."""
    cancelled_by = {i: p.uid for p in people for i in p.cancels}
    accepted_by = {i: p.uid for p in people for i in p.accepts}
    team_of = {user: team for team, user in db.members}
    owing = Owing()
    owed = owing.owed
    for inv in db.invitations:
        sender, recipient = db.users[inv.sender], db.users[inv.recipient]
        team = escape(db.teams[inv.team_id][1]) if inv.team_id is not None else ""
        about = f"invitation {inv.id} ({inv.kind} {inv.sender}->{inv.recipient}, {inv.status})"
        owed.append(
            Owed(
                inv.recipient,
                "invitation",
                shaped(recipient.language, INCOMING[inv.kind], name=sender.name, team=team),
                f"inv:accept:{inv.id}",
                about,
            )
        )
        owed.append(
            Owed(
                inv.sender,
                "sent",
                shaped(sender.language, SENT[inv.kind], name=recipient.name, team=team),
                f"inv:cancel:{inv.id}",
                about,
            )
        )
        if inv.status in ("accepted", "declined"):
            # answered by its recipient (a join request by any member: here, the owner)
            mine, theirs = ANSWERED[inv.kind, inv.status]
            what = "joined" if inv.status == "accepted" and inv.team_id else inv.status
            for chat, key, other in (
                (inv.recipient, mine, sender),
                (inv.sender, theirs, recipient),
            ):
                lang = db.users[chat].language
                pattern = shaped(lang, key, name=other.name, contact=ANY, team=team)
                owed.append(Owed(chat, what, pattern, None, about))
        elif inv.status == "cancelled":
            took_back = cancelled_by.get(inv.id) == inv.sender
            # a join request accepted after its sender joined another team closes too
            closed = (
                inv.kind == "request"
                and accepted_by.get(inv.id) == inv.recipient
                and team_of.get(inv.sender) not in (None, inv.team_id)
            )
            pattern = shaped(sender.language, CANCELLED[inv.kind], name=recipient.name, team=team)
            by_sender = Owed(inv.sender, "cancelled", pattern, None, about)
            pattern = shaped(recipient.language, "team_request_in_team")
            by_recipient = Owed(inv.recipient, "cancelled", pattern, None, about)
            if took_back and closed:
                owing.either.append((by_sender, by_recipient))
            elif took_back or closed:
                owed.append(by_sender if took_back else by_recipient)
            else:
                owing.unexplained.append(about)
    for reporter, reported in db.reports:  # the first report of someone by someone
        pattern = shaped(
            "en", "report_to_admin", reporter=str(reporter), reported=str(reported), card=ANY
        )
        owed.append(Owed(ADMIN, "report", pattern, None, f"report {reporter}->{reported}"))
    return owing


def missing_and_extra(owed: list[Owed], sends: list[Sent]) -> tuple[list[str], list[Sent]]:
    """The owed messages that never arrived, and the sends beyond what was owed (the same
    notice twice)."""
    by_chat: dict[int, list[Sent]] = {}
    for sent in sends:
        by_chat.setdefault(sent.chat, []).append(sent)
    groups: dict[tuple[int, str, str | None], list[Owed]] = {}
    for item in owed:
        groups.setdefault((item.chat, item.pattern.pattern, item.button), []).append(item)
    missing: list[str] = []
    extra: list[Sent] = []
    for (chat, _, button), items in groups.items():
        pattern = items[0].pattern
        found = [
            s
            for s in by_chat.get(chat, [])
            if pattern.match(s.text) and (button is None or button in s.data)
        ]
        missing += [f"{i.what} to {chat} for {i.about}" for i in items[len(found) :]]
        extra += found[len(items) :]
    return missing, extra


def closed_for_recipient(
    db: Committed, people: list[Person], recorder: Recorder, fake: FakeTelegram
) -> tuple[list[str], int]:
    """Invitations taken back whose notice the recipient still sees as open (the recipient
    learns of a cancel by the edit of the invitation they got); and how many copies of such
    notices, sent twice, stay open beside the one closed."""
    cancelled_by = {i: p.uid for p in people for i in p.cancels}
    missing, copies_open = [], 0
    for inv in db.invitations:
        if inv.status != "cancelled" or cancelled_by.get(inv.id) != inv.sender:
            continue
        shown = {
            s.message_id for s in recorder.sends(inv.recipient) if f"inv:accept:{inv.id}" in s.data
        }
        closed_line = text(db.users[inv.recipient].language, "closed_cancelled")
        now = [m for m in fake.messages(inv.recipient) if m.message_id in shown]
        closed = [m for m in now if m.html.endswith(closed_line) and not m.buttons]
        if now and not closed:
            missing.append(f"the cancel of invitation {inv.id} to {inv.recipient}")
        elif closed:
            copies_open += len(now) - len(closed)
    return missing, copies_open


# --- how the kills landed ---------------------------------------------------------------------


@dataclass
class Kill:
    """What one kill did: updates Telegram delivered again to the next run, and messages the
    next run sent that the killed one had sent already."""

    redelivered: int = 0
    sent_again: list[Sent] = field(default_factory=list)


def kills_landed(recorder: Recorder, killed_at: list[float]) -> list[Kill]:
    """For each kill: the updates delivered both to the killed run and to the next, and the
    messages sent twice around it. A message counts as sent twice when the killed run sent
    it after it got the first update it left unconfirmed and the next run sent the same
    (chat, text, buttons) again before it had dealt with every update delivered again."""

    def run(at: float) -> int:
        return bisect.bisect_left(killed_at, at)

    # an answer to a poll of a process that died meanwhile reached nobody
    deliveries = [d for d in recorder.deliveries if run(d.asked_at) == run(d.answered_at)]
    sends = recorder.sends()
    kills = []
    for k, killed in enumerate(killed_at):
        before = [d for d in deliveries if run(d.asked_at) == k]
        after = [d for d in deliveries if run(d.asked_at) == k + 1]
        again = {i for d in before for i in d.update_ids} & {i for d in after for i in d.update_ids}
        kill = Kill(len(again))
        kills.append(kill)
        if not again:
            continue
        replay_from = min(d.answered_at for d in before if again & set(d.update_ids))
        caught_up = min((d.asked_at for d in after if d.offset > max(again)), default=float("inf"))
        old = Counter(s.key for s in sends if replay_from <= s.at <= killed)
        new = [s for s in sends if run(s.at) == k + 1 and s.at <= caught_up]
        for sent in new:
            if old[sent.key]:
                old[sent.key] -= 1
                kill.sent_again.append(sent)
    return kills


def log_counts(log: str) -> dict[str, int]:
    """What the bot's log says about the updates and messages a kill left behind."""
    return {
        "failed updates": len(re.findall(r"update \d+ failed", log)),
        "skipped as handled before a restart": sum(
            int(n) for n in re.findall(r"skipping (\d+) updates handled before a restart", log)
        ),
        "stored, taken up after a restart": sum(
            int(n) for n in re.findall(r"feeding (\d+) updates stored and not handled before", log)
        ),
        "handled before, not again": len(
            re.findall(r"update \d+ (?:was handled before|took its dialogue step before)", log)
        ),
        "messages left from before, sent": sum(
            int(n) for n in re.findall(r"sending (\d+) messages left from before", log)
        ),
    }


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture
def crash_env(bot_env: dict[str, str]) -> dict[str, str]:
    return {
        **bot_env,
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT_REQUESTS_PER_MINUTE": "100",  # people here tap quickly; never throttled
        "RATE_LIMIT_PRESSES_PER_MINUTE": "600",
        "DIGEST_DELAY_SECONDS": "3600",  # no digests in the chats
        "ADMIN_IDS": str(ADMIN),
    }


class Bot(Protocol):
    """What the traffic drives: one `teambot run` process, or several instances of one bot
    (tests/test_instances.py), killed and started again as one."""

    def exited(self) -> bool: ...
    def signal(self, signum: int) -> None: ...
    def wait(self, timeout: float = 30) -> int: ...
    def output(self) -> str: ...


# each seed runs both backends: the first run on the one named, and every restart on the other
# one than before (the database is the same; a process's backend is its own affair)
@pytest.mark.parametrize(("seed", "backend"), [(1, "asyncio"), (2, "trio"), (3, "asyncio")])
def test_sigkill_at_random_moments_loses_no_update_and_no_notice(
    telegram: FakeTelegram,
    crash_env: dict[str, str],
    database_url: str,
    tmp_path: Path,
    seed: int,
    backend: str,
) -> None:
    started: list[BotProcess] = []
    log = tmp_path / "bot.log"
    backends = (backend, "trio" if backend == "asyncio" else "asyncio")
    runs: list[str] = []  # the backend of each run

    def start() -> Bot:
        runs.append(backends[len(started) % 2])
        bot = BotProcess({**crash_env, "TEAMBOT_BACKEND": runs[-1]}, log)
        started.append(bot)
        return bot

    try:
        crash_and_check(
            telegram, database_url, log, seed, start, lambda: f"runs on {', '.join(runs)}"
        )
    finally:
        for bot in started:
            if bot.proc.poll() is None:
                bot.proc.kill()
                bot.wait()


def crash_and_check(
    telegram: FakeTelegram,
    database_url: str,
    log: Path,
    seed: int,
    start: Callable[[], Bot],
    runs: Callable[[], str],
) -> None:
    """The traffic of `seed` with its kills, a clean stop, and what the people and the
    operator would notice checked (the module's docstring)."""
    recorder = Recorder(telegram)
    people = make_people(seed)
    traffic = Traffic(telegram, recorder, people, start)
    telegram.wait_until_sync(
        lambda: telegram.get_updates_calls > 0 or telegram.webhook_url or traffic.bot.exited(),
        timeout=30,
        what="the bot to take updates (a poll, or its webhook set)",
    )
    traffic.run(random.Random(seed), deadline=time.monotonic() + 150)
    telegram.wait_until_sync(
        lambda: telegram.pending_update_count == 0, timeout=30, what="everything confirmed"
    )
    traffic.bot.signal(signal.SIGTERM)
    assert traffic.bot.wait(30) == 0, traffic.bot.output()[-3000:]
    assert traffic.kills == KILLS
    db = Committed.read(database_url)
    output = log.read_text(errors="replace")
    sends = recorder.sends()

    # what was lost, what was sent twice, and where the kills landed: printed before the
    # assertions, so a failing run says it too
    owing = owed_notices(db, people)
    missing, extra = missing_and_extra(owing.owed, sends)
    not_closed, copies_open = closed_for_recipient(db, people, recorder, telegram)
    missing += not_closed
    for one, other in owing.either:
        if all(missing_and_extra([owed], sends)[0] for owed in (one, other)):
            missing.append(f"the cancel to {one.chat} or {other.chat} for {one.about}")
    kills = kills_landed(recorder, traffic.killed_at)
    landed = log_counts(output)
    statuses = Counter(i.status for i in db.invitations)
    print(
        f"\nseed {seed} ({runs()}):"
        f" {len(recorder.update_ids)} updates, {len(sends)} messages,"
        f" {traffic.kills} kills; invitations {dict(statuses)}, {len(db.reports)} reports,"
        f" {len(db.members) - len(db.teams)} joined a team\n"
        f"  notices owed {len(owing.owed) + len(owing.either)}, lost {len(missing)},"
        f" sent beyond what was owed {len(extra)} (copies of a cancelled invitation left"
        f" open {copies_open})\n"
        f"  messages sent again per kill {[len(k.sent_again) for k in kills]};"
        f" updates delivered again per kill {[k.redelivered for k in kills]}\n"
        f"  from the log: {landed}"
    )
    for line in missing:
        print(f"  lost: {line}")
    for sent in extra:
        print(f"  beyond what was owed, to {sent.chat}: {sent.text[:60]!r}")
    for kill_number, kill in enumerate(kills, 1):
        for sent in kill.sent_again:
            print(f"  kill {kill_number} sent again to {sent.chat}: {sent.text[:60]!r}")

    # every update was handled, every button press answered, each recorded as handled
    assert telegram.pending_update_count == 0
    assert telegram.unanswered_callbacks == []
    assert sorted(set(recorder.update_ids) - db.handled) == [], "delivered, not marked handled"

    # nothing failed on the way
    apologies = tuple(text(lang, "failed") for lang in LANGUAGES)
    assert [s.text for s in sends if s.text.startswith(apologies)] == []
    assert [a for a in recorder.answer_texts if a.startswith(apologies)] == []
    assert landed["failed updates"] == 0, re.findall(r".*update \d+ failed.*", output)

    # every profile is what its owner typed, whole
    for person in people:
        assert db.profiles[person.uid] == (
            person.role,
            person.name,
            parse_tags(person.skills),
            parse_tags(person.wants),
            person.bio,
            True,
            True,
        ), traffic.report(f"profile of {person.uid}")
        owned = [name for owner, name in db.teams.values() if owner == person.uid]
        assert owned == ([person.team] if person.role == "team" else [])

    # nothing happened twice: one team each, each member by an accepted invitation, one
    # invitation row per invitation meant
    team_of: dict[int, int] = {}
    for team_id, user_id in db.members:
        assert user_id not in team_of, f"{user_id} is in two teams"
        team_of[user_id] = team_id
    joined_by = {
        (i.team_id, i.recipient if i.kind == "invite" else i.sender)
        for i in db.invitations
        if i.status == "accepted" and i.team_id is not None
    }
    for team_id, (owner, _) in db.teams.items():
        assert team_of.get(owner) == team_id, f"team {team_id} lacks its owner"
    for team_id, user_id in db.members:
        owner = db.teams[team_id][0]
        assert user_id == owner or (team_id, user_id) in joined_by, (team_id, user_id)
    rows_per_pair = Counter((i.sender, i.recipient) for i in db.invitations)
    intents = Counter[tuple[int, int]]()
    for p in people:
        for ref, n in p.intents.items():
            intents[(p.uid, db.on_card[ref])] += n
    for pair, rows in rows_per_pair.items():
        assert rows <= intents.get(pair, 0), f"{rows} invitations {pair}, meant {intents.get(pair)}"

    # no notice lost: every committed change reached everyone it concerns
    assert owing.unexplained == [], "closed, and nobody closed it"
    assert missing == [], f"{len(missing)} notices lost"


class Instances:
    """Three instances of one bot on one database (actors/leadership.py), driven by the
    traffic as one bot: a kill SIGKILLs the leader (the instance taking the updates, as its
    /readyz says), and a start brings them back to three with a fresh one. In webhook mode
    Telegram's POSTs go to any of them, as through a load balancer."""

    def __init__(self, telegram: FakeTelegram, env: dict[str, str], log: Path) -> None:
        self.telegram = telegram
        self.env = env
        self.log = log
        self.running: list[tuple[BotProcess, int]] = []  # each with its HTTP port
        self.started: list[BotProcess] = []
        self._signalled: list[BotProcess] = []

    def start(self) -> Bot:
        while len(self.running) < 3:
            port = free_port()
            process = BotProcess({**self.env, "HTTP_PORT": str(port)}, self.log)
            self.started.append(process)
            self.running.append((process, port))
        if self.env.get("UPDATES_MODE") == "webhook":
            self.telegram.webhook_proxy = [f"http://127.0.0.1:{port}" for _, port in self.running]
        return self

    def _role(self, port: int) -> str | None:
        try:
            reply = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1, trust_env=False)
        except httpx.HTTPError:
            return None
        return reply.text.strip().removeprefix("ok: ") if reply.status_code == 200 else None

    def leader(self) -> tuple[BotProcess, int]:
        # a takeover is seconds (the lease), but on two loaded cores the fresh instances
        # started after earlier kills spend that long importing, and /readyz waits its turn:
        # 10 s was once too short here (no instance said "leader" in time)
        deadline = time.monotonic() + 30
        while True:
            leading = [(p, port) for p, port in self.running if self._role(port) == "leader"]
            if len(leading) == 1:
                return leading[0]
            assert time.monotonic() < deadline, f"{len(leading)} leaders"
            time.sleep(0.05)

    def exited(self) -> bool:
        return any(p.proc.poll() is not None for p, _ in self.running)

    def signal(self, signum: int) -> None:
        chosen = [self.leader()] if signum == signal.SIGKILL else list(self.running)
        for entry in chosen:
            self.running.remove(entry)
            entry[0].signal(signum)
            self._signalled.append(entry[0])

    def wait(self, timeout: float = 30) -> int:
        signalled, self._signalled = self._signalled, []
        codes = [p.wait(timeout) for p in signalled]
        return max(codes, key=abs, default=0)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.mark.parametrize(("mode", "backend"), [("polling", "asyncio"), ("webhook", "trio")])
def test_three_instances_whose_leader_is_killed_lose_no_update_and_no_notice(
    telegram: FakeTelegram,
    crash_env: dict[str, str],
    database_url: str,
    tmp_path: Path,
    mode: str,
    backend: str,
) -> None:
    """The traffic above against three instances of one bot; every kill is the leader's,
    mid-traffic, and a standby takes over while a fresh instance starts."""
    env = {**crash_env, "TEAMBOT_BACKEND": backend}
    if mode == "webhook":
        env.update(WEBHOOK)
    log = tmp_path / "bots.log"
    instances = Instances(telegram, env, log)
    try:
        crash_and_check(
            telegram, database_url, log, 4, instances.start, lambda: f"three instances, {mode}"
        )
    finally:
        for process in instances.started:
            if process.proc.poll() is None:
                process.proc.kill()
                process.wait()
