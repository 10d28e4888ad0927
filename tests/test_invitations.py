"""Invitations as people live them, through the fake Bot API in both languages: each kind
(an invite into a team, a request to join one, a co-founder connect) has its own words; a
keyboard goes the moment its invitation closes, wherever it was answered; someone who
blocked the bot never costs the person acting her answer."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from teambot.config import Settings
from teambot.data import invitations
from teambot.data.invitations import LiveMessage
from teambot.texts import text
from tests.conftest import running
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_conversations import invitation_id, settle
from tests.test_teams import answers, invite, join, query, say, says, seed, url_of

pytestmark = pytest.mark.anyio

ACTIONS = {"invite": "action_invite", "request": "action_request", "connect": "action_connect"}
ROLES = {
    "invite": ("team", "participant"),
    "request": ("participant", "team"),
    "connect": ("cofounder", "cofounder"),
}
A, B = 1, 2  # A sends, B receives


def people(settings: Settings, kind: str, lang: str) -> None:
    """Anna sends, Ben receives; whichever of them is a team's owner owns Rocket."""
    url = url_of(settings)
    first, second = ROLES[kind]
    seed(url, A, role=first, lang=lang, name="Anna", skills=("python",), wants=("design",),
         team="Rocket")  # fmt: skip
    seed(url, B, role=second, lang=lang, name="Ben", skills=("design",), wants=("python",),
         team="Rocket")  # fmt: skip


async def press(telegram: FakeTelegram, user: int, label: str, lang: str) -> None:
    telegram.press(user, label, language_code=lang)
    await settle(telegram)


async def send(telegram: FakeTelegram, kind: str, lang: str) -> None:
    """Anna finds Ben in /search and sends without a note."""
    telegram.send_text(A, "/search", language_code=lang)
    await settle(telegram)
    await press(telegram, A, text(lang, ACTIONS[kind]), lang)
    await press(telegram, A, text(lang, "send_without_note"), lang)


def now(telegram: FakeTelegram, message: SentMessage) -> SentMessage:
    """The message as it stands now (edits applied)."""
    [current] = [
        m for m in telegram.messages(message.chat_id) if m.message_id == message.message_id
    ]
    return current


def closed(
    telegram: FakeTelegram, message: SentMessage, lang: str, key: str, **values: str
) -> None:
    """The message kept its text, says how the invitation closed, and has no buttons."""
    current = now(telegram, message)
    assert current.text == message.text + "\n\n" + says(lang, key, **values), current.text
    assert current.buttons == []


def execute(settings: Settings, sql: str) -> None:
    with psycopg.connect(url_of(settings)) as conn:
        conn.execute(sql)


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("kind", ["invite", "request", "connect"])
async def test_each_kind_has_its_own_words_and_its_keyboards_close(
    telegram: FakeTelegram, settings: Settings, kind: str, lang: str
) -> None:
    people(settings, kind, lang)
    team = {"team": "Rocket"}
    anna, ben = {"name": "Anna"}, {"name": "Ben"}
    words = {
        "invite": {
            "notice": says(lang, "incoming_invite", **anna, **team),
            "sent": says(lang, "invite_sent", **ben),
            "declined_a": says(lang, "invite_declined_them", **ben, **team),
            "declined_b": says(lang, "invite_declined_you", **team),
            "cancelled_a": says(lang, "invite_cancelled", **ben),
            "expired_a": says(lang, "expired_sender", **ben),
            "accepted_a": says(lang, "invite_accepted_them", **ben, **team, contact="Ben"),
            "accepted_b": says(lang, "invite_accepted_you", **anna, **team, contact="Anna"),
        },
        "request": {
            "notice": says(lang, "incoming_request", **anna, **team),
            "sent": says(lang, "team_join_sent", **team),
            "declined_a": says(lang, "team_request_declined", **team),
            "declined_b": says(lang, "team_request_declined_by", **anna),
            "cancelled_a": says(lang, "request_cancelled", **team),
            "expired_a": says(lang, "request_expired", **team),
            "accepted_a": says(lang, "team_request_accepted", **ben, **team, contact="Ben"),
            "accepted_b": says(lang, "team_request_accepted_by", **anna, contact="Anna"),
        },
        "connect": {
            "notice": says(lang, "incoming_connect", **anna),
            "sent": says(lang, "connect_sent", **ben),
            "declined_a": says(lang, "connect_declined_them", **ben),
            "declined_b": says(lang, "connect_declined_you"),
            "cancelled_a": says(lang, "connect_cancelled", **ben),
            "expired_a": says(lang, "connect_expired", **ben),
            "accepted_a": says(lang, "connect_accepted_them", **ben, contact="Ben"),
            "accepted_b": says(lang, "connect_accepted_you", **anna, contact="Anna"),
        },
    }[kind]
    cancel = text(lang, {"invite": "action_cancel_invite", "request": "action_withdraw_request",
                         "connect": "action_withdraw_connect"}[kind])  # fmt: skip
    async with running(settings) as app:
        # declined
        await send(telegram, kind, lang)
        notice, sent = telegram.last_message(B), telegram.last_message(A)
        assert (notice.text, sent.text) == (words["notice"], words["sent"])
        assert notice.buttons == [text(lang, "action_accept"), text(lang, "action_decline")]
        assert sent.buttons == [cancel]
        await press(telegram, B, text(lang, "action_decline"), lang)
        assert telegram.last_message(A).text == words["declined_a"]
        assert telegram.last_message(B).text == words["declined_b"]
        closed(telegram, notice, lang, "closed_declined")
        if kind == "request":  # a team's member answered: named to the others
            closed(telegram, sent, lang, "closed_declined_by", name="Ben")
        else:
            closed(telegram, sent, lang, "closed_declined")
        # cancelled by the sender
        await send(telegram, kind, lang)
        notice, sent = telegram.last_message(B), telegram.last_message(A)
        await press(telegram, A, cancel, lang)
        assert telegram.last_message(A).text == words["cancelled_a"]
        closed(telegram, notice, lang, "closed_cancelled")
        closed(telegram, sent, lang, "closed_cancelled")
        # expired, with a copy from /invitations (and a team's /team list) open as well
        await send(telegram, kind, lang)
        notice, sent = telegram.last_message(B), telegram.last_message(A)
        await say(telegram, B, "/invitations")
        copies = [telegram.last_message(B)]
        if kind == "request":
            await say(telegram, B, "/team")
            copies.append(telegram.last_message(B))
        execute(settings, "update invitations set expires_at = now() where status = 'pending'")
        await app.cleanup.run_pass()  # or the timer's own first pass, if it runs now

        def expiry_shown() -> bool:
            edited = all(now(telegram, m).buttons == [] for m in (notice, sent, *copies))
            return edited and telegram.last_message(A).text == words["expired_a"]

        await telegram.wait_until(expiry_shown, what="the expiry told and shown")
        for message in (notice, sent, *copies):
            closed(telegram, message, lang, "closed_expired")
        # accepted
        await send(telegram, kind, lang)
        notice, sent = telegram.last_message(B), telegram.last_message(A)
        await press(telegram, B, text(lang, "action_accept"), lang)
        assert telegram.last_message(A).text == words["accepted_a"]
        assert telegram.last_message(B).text == words["accepted_b"]
        closed(telegram, notice, lang, "closed_accepted")
        if kind == "request":
            closed(telegram, sent, lang, "closed_accepted_by", name="Ben")
        else:
            closed(telegram, sent, lang, "closed_accepted")
    everything = [m.text for user in (A, B) for m in telegram.messages(user)]
    assert not any("(а)" in t or "(ла)" in t for t in everything)
    if kind == "request" and lang == "en":
        assert not any("invitation" in t for t in everything)  # a request is no invitation
    if kind == "request" and lang == "ru":
        # the case: Anna asked to join, Ben accepted
        assert telegram.last_message(A).text == (
            "Заявку приняли: теперь вы в команде Rocket. Связаться с Ben: Ben."
        )
    if kind != "connect":
        assert query(url_of(settings), "select user_id from team_members order by 1") == [
            (1,),
            (2,),
        ]
    assert query(url_of(settings), "select count(*) from invitation_messages") == [(0,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_accepting_from_invitations_edits_the_original_notice(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    people(settings, "invite", lang)
    async with running(settings):
        await send(telegram, "invite", lang)
        notice, sent = telegram.last_message(B), telegram.last_message(A)
        await say(telegram, A, "/invitations")
        outgoing = telegram.last_message(A)
        await say(telegram, B, "/invitations")
        copy = telegram.last_message(B)
        assert copy.text == notice.text and copy.message_id != notice.message_id
        await press(telegram, B, text(lang, "action_accept"), lang)  # the /invitations copy
        stale = notice.callback_data(text(lang, "action_accept"))
        assert stale is not None
        await telegram.wait_confirmed(telegram.press_button(B, notice.message_id, stale))
    assert outgoing.text == says(lang, "outgoing", name="Ben", team="Rocket")
    for message in (notice, copy, sent, outgoing):
        closed(telegram, message, lang, "closed_accepted")
    assert answers(telegram)[-1] == text(lang, "invitation_stale")
    assert texts_count(telegram, B, says(lang, "invite_accepted_you", name="Anna",
                                         team="Rocket", contact="Anna")) == 1  # fmt: skip
    assert query(url_of(settings), "select user_id from team_members order by 1") == [(1,), (2,)]


def texts_count(telegram: FakeTelegram, user: int, body: str) -> int:
    return [m.text for m in telegram.messages(user)].count(body)


async def test_forged_presses_on_other_peoples_invitations_get_one_neutral_answer(
    telegram: FakeTelegram, settings: Settings
) -> None:
    people(settings, "connect", "en")
    seed(url_of(settings), 3, role="cofounder", name="Mallory")
    async with running(settings):
        await send(telegram, "connect", "en")
        invitation = invitation_id(settings)
        await say(telegram, 3, "/start")
        for data in (
            f"inv:accept:{invitation}",  # someone else's, pending
            f"inv:decline:{invitation}",
            f"inv:cancel:{invitation}",
            f"inv:accept:{invitation + 1000}",  # no such invitation
            f"inv:cancel:{invitation + 1000}",
        ):
            update = telegram.press_button(3, telegram.last_message(3).message_id, data)
            await telegram.wait_confirmed(update)
        await press(telegram, A, "Withdraw offer", "en")  # the sender's own cancel still works
    assert answers(telegram)[-6:-1] == ["This invitation is no longer pending."] * 5
    assert query(url_of(settings), "select status from invitations") == [("cancelled",)]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_recipient_who_blocked_the_bot_never_costs_the_actor_her_answer(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", lang=lang, name="Olga", team="Rocket", wants=("python",))
    seed(url, 20, role="team", lang=lang, name="Petr", team="Comet", wants=("python",))
    seed(url, 1, lang=lang, name="Ivan", skills=("python",))
    telegram.block_user(1)
    async with running(settings) as app:
        # sending to someone who blocked the bot: stored, and the sender is told honestly
        telegram.send_text(10, "/search", language_code=lang)
        await settle(telegram)
        await press(telegram, 10, text(lang, "action_invite"), lang)
        await press(telegram, 10, text(lang, "send_without_note"), lang)
        [sent, warned] = telegram.messages(10)[-2:]
        # out of search until they write again
        await say(telegram, 20, "/search")
        while_blocked = telegram.last_message(20).text
        telegram.block_user(1, blocked=False)
        telegram.send_text(1, "/start", language_code=lang)
        await settle(telegram)
        await say(telegram, 20, "/search")
        after_writing = telegram.last_message(20).text
        # accepting while the team's owner has blocked the bot: the answer still comes
        telegram.block_user(10)
        await say(telegram, 1, "/invitations")
        await press(telegram, 1, text(lang, "action_accept"), lang)
        [accepted, warned_too] = [m.text for m in telegram.messages(1)[-2:]]
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    # the answer first, then a word that the notice did not arrive
    assert sent.text == says(lang, "invite_sent", name="Ivan")
    assert sent.buttons == [text(lang, "action_cancel_invite")]
    assert warned.text == says(lang, "unreachable", name="Ivan")
    assert "Ivan" not in while_blocked
    assert after_writing.startswith("Ivan")
    assert accepted == says(lang, "invite_accepted_you", team="Rocket", name="Olga", contact="Olga")
    assert warned_too == says(lang, "unreachable", name="Olga")
    assert failed == 0  # no apology anywhere
    rocket = "select user_id from team_members join teams on id = team_id where owner_id = 10"
    assert query(url, rocket + " order by user_id") == [(1,), (10,)]
    assert query(url, "select id from users where unreachable_since is not null") == [(10,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_invitee_already_in_a_team_leaves_it_before_accepting(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    rocket = seed(url, 10, role="team", name="Olga", team="Rocket")
    comet = seed(url, 20, role="team", name="Petr", team="Comet")
    seed(url, 1, lang=lang, name="Ivan")
    assert rocket is not None and comet is not None
    join(url, comet, 1)
    invite(url, 10, 1, rocket, "invite")
    async with running(settings):
        await say(telegram, 1, "/invitations")
        notice = telegram.last_message(1)
        await press(telegram, 1, text(lang, "action_accept"), lang)
        refused = telegram.last_message(1).text
        still = now(telegram, notice).buttons
        for step in ("/team", text(lang, "action_team_leave"), text(lang, "action_team_yes")):
            if step.startswith("/"):
                await say(telegram, 1, step)
            else:
                await press(telegram, 1, step, lang)
        telegram.press_button(1, notice.message_id, notice.callback_data(still[0]) or "")
        await settle(telegram)
    assert refused == says(lang, "invite_in_team", team="Comet")
    assert still == [text(lang, "action_accept"), text(lang, "action_decline")]  # still open
    closed(telegram, notice, lang, "closed_accepted")
    assert query(url, "select team_id from team_members where user_id = 1") == [(rocket,)]


async def test_a_deleted_team_or_account_closes_the_keyboards_of_its_invitations(
    telegram: FakeTelegram, settings: Settings
) -> None:
    people(settings, "invite", "en")  # Anna owns Rocket, Ben is a participant
    seed(url_of(settings), 3, role="cofounder", name="Cleo", skills=("design",))
    seed(url_of(settings), 4, role="cofounder", name="Dan", wants=("design",))
    async with running(settings) as app:
        await send(telegram, "invite", "en")
        notice = telegram.last_message(B)
        await say(telegram, A, "/team")
        await press(telegram, A, "Delete team", "en")
        await press(telegram, A, "Yes", "en")
        # Dan offers Cleo to connect, then deletes his account: the cleanup's sweep edits
        await send_as(telegram, 4, "Connect")
        connect = telegram.last_message(3)
        await say(telegram, 4, "/profile")
        await press(telegram, 4, "Delete account", "en")
        await press(telegram, 4, "Yes, delete", "en")
        await app.cleanup.run_pass()
        await telegram.wait_until(lambda: now(telegram, connect).buttons == [], what="swept")
    closed(telegram, notice, "en", "closed_cancelled")
    closed(telegram, connect, "en", "closed_cancelled")
    assert query(url_of(settings), "select count(*) from invitation_messages") == [(0,)]


async def send_as(telegram: FakeTelegram, user: int, action: str) -> None:
    await say(telegram, user, "/search")
    await press(telegram, user, action, "en")
    await press(telegram, user, "Send without a note", "en")


# --- the records behind it, straight against the database


class Counting(psycopg.Connection[dict[str, Any]]):
    """A real connection that counts the statements it runs."""

    statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return super().execute(*args, **kwargs)


def test_invitations_are_listed_with_both_people_in_one_statement(settings: Settings) -> None:
    url = url_of(settings)
    rocket = seed(url, 10, role="team", name="Olga", team="Rocket")
    comet = seed(url, 20, role="team", name="Petr", team="Comet")
    assert rocket is not None and comet is not None
    for user in range(101, 131):
        seed(url, user, name=f"Person {user}")
        if user % 2:
            invite(url, 10, user, rocket, "invite")
        else:
            invite(url, user, 20, comet, "request")
    with Counting.connect(url, row_factory=dict_row) as conn:
        team_side = invitations.pending_of(conn, 10)
        person_side = invitations.pending_of(conn, 102)
        assert conn.statements == 2
    assert len(team_side) == 15
    assert {(v.sender_name, v.team_name) for v in team_side} == {("Olga", "Rocket")}
    assert [v.recipient_name for v in team_side][:2] == ["Person 101", "Person 103"]
    [request] = person_side
    assert (request.sender_name, request.recipient_name, request.team_name) == (
        "Person 102",
        "Petr",
        "Comet",
    )


def test_a_message_recorded_after_its_invitation_closed_is_reported_not_kept(
    settings: Settings,
) -> None:
    url = url_of(settings)
    seed(url, 1, role="cofounder")
    seed(url, 2, role="cofounder")
    seed(url, 3, role="cofounder")
    pending = invite(url, 1, 2, None, "connect")
    answered = invite(url, 1, 3, None, "connect")

    def shown(invitation: int, chat: int, message: int) -> LiveMessage:
        return LiveMessage(invitation, chat, message, f"body {message}", "en")

    with psycopg.connect(url, row_factory=dict_row) as conn:
        assert invitations.close(conn, answered, "declined") is not None
        late = invitations.record_messages(
            conn, [shown(pending, 2, 7), shown(answered, 3, 8), shown(pending + 99, 2, 9)]
        )
        # another member answered first: edit it at once; one that went with its team: cancelled
        assert late == {answered: "declined", pending + 99: "cancelled"}
        assert invitations.closed_messages(conn, 10) == []  # nothing kept for them
        assert invitations.close(conn, pending, "accepted") is not None
        [taken] = invitations.messages_of(conn, [pending])
        assert (taken.chat_id, taken.message_id, taken.status) == (2, 7, "accepted")
        # until they are edited and forgotten, the cleanup's sweep would find them too
        assert invitations.closed_messages(conn, 10) == [taken]
        invitations.forget_messages(conn, [taken])
        assert invitations.closed_messages(conn, 10) == []
