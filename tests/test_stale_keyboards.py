"""Stale keyboards: a whole story (three people register, one of them a team; search, a join
request, declined, asked again with a note, accepted; a join link followed and accepted;
leaving; deleting the team; deleting an account), keeping every inline keyboard the bot
sent. After each step every button whose moment has passed is pressed again: the ones the
story pressed, and the ones the bot has since taken off their message. At the end every
button ever seen is pressed again.

Every press gets exactly one answer, nothing fails and nothing logs a traceback; a press
changes the people, teams and invitations only if its button is still on its message and
was not pressed before (or chooses a language, which is right at any moment)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import anyio
import psycopg
import pytest

from teambot.config import Settings
from teambot.texts import text
from tests.conftest import running
from tests.fake_telegram import FakeTelegram
from tests.test_callbacks import LogLines
from tests.test_conversations import register, settle

pytestmark = pytest.mark.anyio

OWNER, ANNA, BEN = 10, 1, 2
PEOPLE = (OWNER, ANNA, BEN)
LINK = re.compile(r"https://t\.me/\w+\?start=(team_[A-Za-z0-9_-]+)")
# what a stale press must not change: people, teams, membership, invitations, hiding, reports
DOMAIN = ("users", "teams", "team_members", "invitations", "hidden_users", "reports")
# moved by whatever a person sends (a press included), or by the background jobs
VOLATILE = frozenset({"last_active", "unreachable_since", "digest_sent_at", "inactive_notified_at"})
# the registration dialogue's buttons: many, and alike; pressed together, per person
DIALOGUE = ("lang:", "role:", "step:", "tag:")
# right at any moment: choosing a language
TIMELESS = ("lang:",)


@dataclass(frozen=True, order=True)
class Button:
    user: int
    message_id: int
    data: str
    label: str = field(compare=False)


@dataclass(frozen=True)
class Violation:
    step: str
    button: Button
    changed: dict[str, tuple[list[str], list[str]]]

    def __str__(self) -> str:
        changes = ", ".join(
            f"{table} -{len(gone)} +{len(new)}" for table, (gone, new) in self.changed.items()
        )
        return f"after {self.step}: {self.button.user} {self.button.data!r} changed {changes}"


def snapshot(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, list[str]]:
    tables = {}
    for table in DOMAIN:
        rows = conn.execute(f"select row_to_json(t) from {table} t").fetchall()
        tables[table] = sorted(
            json.dumps({k: v for k, v in row.items() if k not in VOLATILE}, sort_keys=True)
            for (row,) in rows  # type: ignore[attr-defined]
        )
    return tables


def difference(
    before: dict[str, list[str]], after: dict[str, list[str]]
) -> dict[str, tuple[list[str], list[str]]]:
    return {
        table: (
            sorted(set(before[table]) - set(after[table])),
            sorted(set(after[table]) - set(before[table])),
        )
        for table in DOMAIN
        if before[table] != after[table]
    }


class Sweep:
    """The story's bookkeeping: every button seen, the ones the story pressed, and the
    stale presses' outcomes."""

    def __init__(
        self, telegram: FakeTelegram, conn: psycopg.Connection[tuple[object, ...]]
    ) -> None:
        self.telegram = telegram
        self.conn = conn
        self.seen: set[Button] = set()
        self.pressed: set[Button] = set()
        self.violations: list[Violation] = []
        self.presses = 0

    def current(self) -> set[Button]:
        """The buttons on the messages as they stand now."""
        return {
            Button(user, message.message_id, button["callback_data"], button["text"])
            for user in PEOPLE
            for message in self.telegram.messages(user)
            for row in (message.reply_markup or {}).get("inline_keyboard", [])
            for button in row
            if "callback_data" in button
        }

    def collect(self) -> None:
        """Every keyboard the bot sent or edited in, from the Bot API calls it made."""
        for call in self.telegram.calls:
            markup = call.params.get("reply_markup")
            if call.status != 200 or not isinstance(markup, dict):
                continue
            if call.method == "sendMessage":
                message_id = call.result["message_id"]
            elif call.method in ("editMessageText", "editMessageReplyMarkup"):
                message_id = call.params["message_id"]
            else:
                continue
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if "callback_data" in button and call.params["chat_id"] in PEOPLE:
                        self.seen.add(
                            Button(
                                call.params["chat_id"],
                                message_id,
                                button["callback_data"],
                                button["text"],
                            )
                        )

    def stale(self, without: tuple[str, ...] = ()) -> list[Button]:
        """Buttons the story pressed, and buttons the bot took off their message."""
        stale = self.pressed | (self.seen - self.current())
        return sorted(b for b in stale if not b.data.startswith(without))

    async def step(self, user: int, words: str) -> None:
        self.telegram.send_text(user, words, first_name=f"User{user}")
        await settle(self.telegram)
        self.collect()

    async def press(self, user: int, label: str) -> None:
        for message in reversed(self.telegram.messages(user)):
            data = message.callback_data(label)
            if data is not None:
                self.pressed.add(Button(user, message.message_id, data, label))
                self.telegram.press_button(user, message.message_id, data, first_name=f"User{user}")
                await settle(self.telegram)
                self.collect()
                return
        raise AssertionError(f"no button {label!r} for user {user}")

    async def press_again(self, step: str, buttons: Iterable[Button]) -> None:
        """Press each button again (the dialogue's per person, together), noting any that
        changed what it should not have."""
        buttons = list(buttons)
        dialogue = [
            b for b in buttons if b.data.startswith(DIALOGUE) and not b.data.startswith(TIMELESS)
        ]
        groups = [[b] for b in buttons if b not in dialogue]
        groups += [[b for b in dialogue if b.user == user] for user in PEOPLE]
        # what the story left pressable (the sweep's own presses change keyboards too)
        current = self.current()
        for group in filter(None, groups):
            before = await anyio.to_thread.run_sync(snapshot, self.conn)
            queries = []
            for button in group:
                update = self.telegram.press_button(
                    button.user, button.message_id, button.data, first_name=f"User{button.user}"
                )
                queries.append(self.telegram.callback_query_id(update))
            # handled, and all before it (a person's dialogue buttons: a hundred or so)
            await self.telegram.wait_confirmed(update, timeout=60)
            self.presses += len(group)
            answers = [a[0] for a in self.telegram.callback_answers]
            assert all(answers.count(query) == 1 for query in queries), group
            after = await anyio.to_thread.run_sync(snapshot, self.conn)
            changed = difference(before, after)
            if not changed:
                continue
            still_valid = all(b in current and b not in self.pressed for b in group)
            if not still_valid and not all(b.data.startswith(TIMELESS) for b in group):
                self.violations.append(Violation(step, group[0], changed))
        self.collect()

    async def after(self, step: str) -> None:
        """Once a step has changed something: press again what has gone stale since,
        outside the registration dialogue (its keyboards are pressed again at the end)."""
        await self.press_again(step, self.stale(without=DIALOGUE))


def label(key: str) -> str:
    return text("en", key)


async def test_no_stale_button_acts_and_every_press_is_answered(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = settings.database_conninfo() or ""
    with psycopg.connect(url, autocommit=True) as conn, LogLines() as log:
        sweep = Sweep(telegram, conn)
        async with running(settings) as app:
            await register(telegram, OWNER, role="team", skills="python, ml", wants="design")
            await register(telegram, ANNA, role="participant", skills="design", wants="python")
            await register(telegram, BEN, role="participant", skills="design", wants="ml")
            sweep.collect()
            # a language button does its job whenever pressed: only at the end, so the
            # story goes on in English
            await sweep.press_again("registering", sweep.stale(without=TIMELESS))

            # Anna asks to join the team, without a note; the owner declines
            await sweep.step(ANNA, "/search")
            assert "Team10" in telegram.last_message(ANNA).text, [
                m.text[:60] for m in telegram.messages(ANNA)
            ][-6:]
            await sweep.press(ANNA, label("action_request"))
            await sweep.press(ANNA, label("send_without_note"))
            await sweep.after("a join request")
            await sweep.press(OWNER, label("action_decline"))
            await sweep.after("declining it")

            # she asks again, with a note; the owner accepts it in /invitations
            await sweep.step(ANNA, "/search")
            await sweep.press(ANNA, label("action_request"))
            await sweep.step(ANNA, "We could design it together.")
            await sweep.after("asking again")
            await sweep.step(OWNER, "/invitations")
            await sweep.press(OWNER, label("action_accept"))
            await sweep.after("accepting")

            # Ben follows the team's join link; a member accepts his request
            await sweep.step(OWNER, "/team")
            await sweep.press(OWNER, label("action_team_link"))
            token = LINK.search(telegram.last_message(OWNER).text)
            assert token is not None
            await sweep.step(BEN, f"/start {token.group(1)}")
            await sweep.after("following the join link")
            await sweep.step(ANNA, "/team")
            await sweep.press(ANNA, label("action_accept"))
            await sweep.after("the link's request accepted")

            # Anna leaves, the owner deletes the team, Ben deletes his account
            await sweep.step(ANNA, "/team")
            await sweep.press(ANNA, label("action_team_leave"))
            await sweep.press(ANNA, label("action_team_yes"))
            await sweep.after("leaving")
            await sweep.step(OWNER, "/team")
            await sweep.press(OWNER, label("action_team_delete"))
            await sweep.press(OWNER, label("action_team_yes"))
            await sweep.after("deleting the team")
            await sweep.step(BEN, "/profile")
            await sweep.press(BEN, label("action_delete"))
            await sweep.press(BEN, label("delete_yes"))
            await sweep.after("deleting an account")

            # the end: every button ever seen, once more
            await sweep.press_again("the end", sorted(sweep.seen))
            failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert sweep.presses > 150  # the story did leave many keyboards behind
    assert failed == 0
    assert log.tracebacks() == []
    assert log.errors() == []
    assert telegram.unanswered_callbacks == []
    acting = [f"{v}: {v.changed}" for v in sweep.violations]
    assert acting == [], "\n".join(acting)
