"""Teams (/team): the card, the owner's powers, members, join links and join requests;
through the fake Bot API in both languages, and the permission rules against the service."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from teambot.adapters.database import Connection, Database
from teambot.config import Settings
from teambot.data import invitations, teams, users
from teambot.services import teams as team_rules
from teambot.services.invitations import Refusal as InviteRefusal
from teambot.services.teams import Refusal, TeamView
from teambot.texts import text
from tests.conftest import running
from tests.fake_telegram import FakeTelegram, parse_html
from tests.test_conversations import settle

pytestmark = pytest.mark.anyio

LINK = re.compile(r"https://t\.me/teambot_test_bot\?start=(team_[A-Za-z0-9_-]+)")


# --- the test bed: people and teams written straight to the database (registration has its
# own tests), then conversations through the fake Bot API


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        yield conn


def seed(
    url: str,
    user_id: int,
    *,
    role: str = "participant",
    lang: str = "en",
    name: str | None = None,
    skills: tuple[str, ...] = ("python",),
    wants: tuple[str, ...] = ("design",),
    team: str | None = None,
    searching: bool = True,
) -> int | None:
    """A registered user; for role 'team' also their team, whose id is returned."""
    with connect(url) as conn:
        conn.execute(
            "insert into users (id, first_name, language) values (%s, %s, %s)",
            (user_id, f"User{user_id}", lang),
        )
        users.register(
            conn,
            user_id,
            user_type=role,
            display_name=name or f"User{user_id}",
            skills=list(skills),
            looking_for=list(wants),
            bio="",
        )
        users.set_searching(conn, user_id, searching)
        if role != "team":
            return None
        return teams.upsert_owned(
            conn,
            user_id,
            name=team or f"Team{user_id}",
            description="We build rockets.",
            roles_needed=list(wants),
        )


def join(url: str, team_id: int, *user_ids: int) -> None:
    with connect(url) as conn:
        for user_id in user_ids:
            assert invitations.add_member(conn, team_id, user_id)


def invite(url: str, sender: int, recipient: int, team_id: int | None, kind: str) -> int:
    with connect(url) as conn:
        row = invitations.create(
            conn,
            sender_id=sender,
            recipient_id=recipient,
            team_id=team_id,
            kind=kind,
            note="",
            hours=72,
        )
        assert row is not None
        return row.id


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def url_of(settings: Settings) -> str:
    return settings.database_conninfo() or ""


async def say(telegram: FakeTelegram, user: int, words: str) -> None:
    telegram.send_text(user, words)
    await settle(telegram)


async def press(telegram: FakeTelegram, user: int, label: str) -> None:
    telegram.press(user, label)
    await settle(telegram)


async def forge(telegram: FakeTelegram, user: int, data: str) -> None:
    """A press whose callback data no button of ours carries."""
    message_id = telegram.messages(user)[-1].message_id if telegram.messages(user) else 1
    update = telegram.press_button(user, message_id, data)
    await telegram.wait_confirmed(update)


def answers(telegram: FakeTelegram) -> list[str | None]:
    return [answer[1] for answer in telegram.callback_answers]


def texts(telegram: FakeTelegram, user: int) -> list[str]:
    return [message.text for message in telegram.messages(user)]


def label(lang: str, key: str) -> str:
    return text(lang, key)


def says(lang: str, key: str, **values: object) -> str:
    """A message as the person reads it (the fake Bot API's plain text of our HTML)."""
    return parse_html(text(lang, key, **values))[0]


# --- the card


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_card_for_the_owner_a_member_an_outsider_and_a_newcomer(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", lang=lang, name="Olga", team="Rocket", wants=("ml",))
    seed(url, 1, lang=lang, name="Ivan")
    seed(url, 2, lang=lang)
    assert team is not None
    join(url, team, 1)
    async with running(settings):
        await say(telegram, 10, "/team")
        await say(telegram, 1, "/team")
        await say(telegram, 2, "/team")
        telegram.send_text(3, "/team", language_code=lang)
        await settle(telegram)
    owner_card, member_card = telegram.last_message(10), telegram.last_message(1)
    owner_word, members = {"en": ("owner", "2 members"), "ru": ("владелец", "2 участника")}[lang]
    assert owner_card.text.splitlines()[:2] == ["Rocket", "We build rockets."]
    assert f"{members}:\n• Olga — {owner_word}\n• Ivan" in owner_card.text
    assert ("Looking for: ml" if lang == "en" else "Ищет: ml") in owner_card.text
    assert owner_card.buttons == [
        label(lang, key)
        for key in (
            "action_team_name",
            "action_team_description",
            "action_team_roles",
            "action_team_link",
            "action_team_remove",
            "action_team_transfer",
            "action_team_delete",
        )
    ]
    assert member_card.text == owner_card.text
    assert member_card.buttons == [{"en": "Leave team", "ru": "Выйти из команды"}[lang]]
    assert telegram.last_message(2).text.startswith(
        {"en": "You are not in a team yet.", "ru": "Вы пока не в команде."}[lang]
    )
    assert telegram.last_message(3).text == text(lang, "register_first")


async def test_html_in_team_and_member_names_is_shown_as_text(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", name="<i>Boss</i>", team="<b>R&D</b> <script>")
    seed(url, 1, name="Eve & <Co>")
    assert team is not None
    join(url, team, 1)
    async with running(settings):
        await say(telegram, 1, "/team")
        await press(telegram, 1, "Leave team")
        await press(telegram, 1, "Yes")
    # the fake Bot API rejects malformed HTML, so each message arriving proves the escaping
    card = texts(telegram, 1)[0]
    assert card.startswith("<b>R&D</b> <script>\n")
    assert "• <i>Boss</i> — owner\n• Eve & <Co>" in card
    assert telegram.last_message(1).text == "You left <b>R&D</b> <script>."
    assert telegram.last_message(10).text == "Eve & <Co> left <b>R&D</b> <script>."


# --- the owner's edits


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_edit_name_description_and_roles_with_limits(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 10, role="team", lang=lang, team="Rocket")
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, label(lang, "action_team_name"))
        asked = telegram.last_message(10).text
        await say(telegram, 10, "x" * 101)
        too_long = telegram.last_message(10).text
        await say(telegram, 10, "  <b>Moon</b>   & co  ")
        saved = texts(telegram, 10)[-2]
        card = telegram.last_message(10).text
        await press(telegram, 10, label(lang, "action_team_description"))
        await say(telegram, 10, "y" * 1001)
        description_too_long = telegram.last_message(10).text
        await say(telegram, 10, "To the moon & back <3")
        await press(telegram, 10, label(lang, "action_team_roles"))
        await say(telegram, 10, "!!!")
        roles_refused = telegram.last_message(10).text
        await say(telegram, 10, "Python, ML, python")
        final = telegram.last_message(10).text
    assert asked == says(lang, "team_ask_name", max=100)
    assert (
        too_long
        == {
            "en": "A team name is 1 to 100 characters. Please try again.",
            "ru": "Название команды — от 1 до 100 символов. Попробуйте ещё раз.",
        }[lang]
    )
    assert saved == {"en": "Saved.", "ru": "Сохранено."}[lang]
    assert card.startswith("<b>Moon</b> & co\n")
    assert description_too_long == says(lang, "bio_too_long", length=1001, max=1000)
    assert roles_refused == says(lang, "team_roles_invalid", max=10)
    assert final.startswith("<b>Moon</b> & co\nTo the moon & back <3\n")
    rows = query(url, "select name, description, roles_needed from teams")
    assert rows == [("<b>Moon</b> & co", "To the moon & back <3", ["python", "ml"])]
    # the owner's user row is the team's card in search: it wants what the team needs
    assert query(url, "select looking_for from users where id = 10") == [(["python", "ml"],)]


async def test_cancel_leaves_an_edit_and_a_member_cannot_edit(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", team="Rocket")
    seed(url, 1)
    assert team is not None
    join(url, team, 1)
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, "✏️ Name")
        await say(telegram, 10, "/cancel")
        cancelled = telegram.last_message(10).text
        await say(telegram, 10, "Not a name")
        after = telegram.last_message(10).text
        await forge(telegram, 1, f"tm:name:{team}:0")  # a member cannot start an edit
    assert cancelled == "Cancelled. /start to begin again."
    assert after == "I did not get that. /help lists what I can do."
    assert query(url, "select name from teams") == [("Rocket",)]
    assert answers(telegram)[-1] == "Only the team's owner can do that."


# --- members: remove, leave


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_owner_removes_a_member_who_is_told_in_their_language(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    other = "ru" if lang == "en" else "en"
    team = seed(url, 10, role="team", lang=lang, team="Rocket")
    seed(url, 1, lang=other, name="Ivan")
    seed(url, 2, lang=other, name="Petr")
    assert team is not None
    join(url, team, 1, 2)
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, label(lang, "action_team_remove"))
        picker = telegram.last_message(10)
        await press(telegram, 10, "Ivan")
        confirm = telegram.last_message(10).text
        telegram.press(10, label(lang, "action_team_yes"))
        telegram.press(10, label(lang, "action_team_yes"))  # double tap
        await settle(telegram)
        done = telegram.last_message(10)
    assert picker.buttons == ["Ivan", "Petr", label(lang, "action_team_no")]
    assert confirm == says(lang, "team_confirm_remove", name="Ivan", team="Rocket")
    assert done.text == says(lang, "team_removed", name="Ivan", team="Rocket")
    assert done.buttons == []
    told = {
        "en": "The owner removed you from the team Rocket.",
        "ru": "Владелец исключил вас из команды Rocket.",
    }[other]
    assert texts(telegram, 1) == [told]  # once
    assert texts(telegram, 2) == []
    assert answers(telegram)[-1] == text(lang, "team_member_gone")
    assert query(url, "select user_id from team_members order by user_id") == [(2,), (10,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_member_leaves_and_the_owner_is_told(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", lang="en", team="Rocket")
    seed(url, 1, lang=lang, name="Ivan")
    assert team is not None
    join(url, team, 1)
    async with running(settings):
        await say(telegram, 1, "/team")
        await press(telegram, 1, label(lang, "action_team_leave"))
        confirm = telegram.last_message(1).text
        await press(telegram, 1, label(lang, "action_team_yes"))
        left = telegram.last_message(1).text
        await say(telegram, 1, "/team")
        after = telegram.last_message(1).text
    assert confirm == says(lang, "team_confirm_leave", team="Rocket")
    assert left == {"en": "You left Rocket.", "ru": "Вы вышли из Rocket."}[lang]
    assert after == says(lang, "team_none")
    assert texts(telegram, 10) == ["Ivan left Rocket."]
    assert query(url, "select user_id from team_members") == [(10,)]


async def test_deleting_an_account_deletes_the_owners_team_or_leaves_the_members(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    rocket = seed(url, 10, role="team", team="Rocket")
    comet = seed(url, 20, role="team", team="Comet")
    seed(url, 1, lang="ru", name="Ivan")
    seed(url, 2, name="Eve")
    assert rocket is not None and comet is not None
    join(url, rocket, 1)
    join(url, comet, 2)
    warnings: list[str] = []
    async with running(settings):
        for user in (10, 2):  # the owner of Rocket, a member of Comet
            await say(telegram, user, "/profile")
            await press(telegram, user, label("en", "action_delete"))
            warnings.append(telegram.last_message(user).text)
            await press(telegram, user, label("en", "delete_yes"))
    assert warnings[0].endswith(says("en", "delete_confirm_team", team="Rocket"))
    assert "team" not in warnings[1]  # a member's account goes without their team
    assert texts(telegram, 1)[-1] == says("ru", "team_deleted_members", team="Rocket")
    assert texts(telegram, 20)[-1] == says("en", "team_left_owner", name="Eve", team="Comet")
    assert query(url, "select name from teams") == [("Comet",)]
    assert query(url, "select user_id from team_members order by 1") == [(20,)]


# --- permissions: forged, malformed and stale buttons


async def test_forged_and_malformed_buttons_get_a_short_answer(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", team="Rocket")
    seed(url, 1)
    seed(url, 2)
    assert team is not None
    join(url, team, 1)
    async with running(settings):
        await say(telegram, 1, "/team")
        for data in (
            f"tm:del_yes:{team}:0",
            f"tm:rm_yes:{team}:10",
            f"tm:tr_yes:{team}:1",
            f"tm:remove:{team}:0",
            f"tm:link:{team}:0",
            f"tm:revoke:{team}:0",
        ):
            await forge(telegram, 1, data)  # a member pressing the owner's buttons
        member = answers(telegram)
        await forge(telegram, 2, f"tm:del_yes:{team}:0")  # someone outside the team
        await forge(telegram, 2, f"tmr:accept:{team}:1")
        outsider = answers(telegram)[len(member) :]
        await forge(telegram, 10, f"tm:rm_yes:{team}:10")  # the owner on themselves
        await forge(telegram, 10, f"tm:leave_yes:{team}:0")
        await forge(telegram, 10, f"tm:rm_yes:{team}:2")  # not a member
        await forge(telegram, 10, f"tm:del_yes:{team + 1}:0")  # no such team
        owner = answers(telegram)[len(member) + len(outsider) :]
        before = len(answers(telegram))
        for data in (
            "tm:del_yes:abc:0",
            "tm:del_yes",
            "tm:explode:1:0",
            "tmr:x",
            "\x00",
            f"tm:del_yes:{team}:-1",  # out of range, negative, huge, not a number
            f"tm:rm_yes:{team}:99999999999999999999",
            "tm:del_yes:0:0",
            "tm:del_yes:-3:0",
            f"tm:del_yes:{2**63}:0",
            f"tmr:accept:{team}:0",
            f"tmr:accept:{team}:-7",
            f"tmr:maybe:{team}:1",
            f"tmr:accept:{team}:1.5",
            "inv:accept:-1",
            "inv:accept:0",
            f"inv:accept:{2**64}",
            "inv:accept:1e3",
            "inv:delete:1",
            "inv:accept",
            "mod:ban:1",  # not an admin: the admin router never sees it
        ):
            await forge(telegram, 1, data)
        malformed = answers(telegram)[before:]
    assert member == ["Only the team's owner can do that."] * 6
    # outside the team and a team that does not exist: the same answer, so a forged press
    # tells nothing about other people's teams
    neutral = "You are not in this team, or it no longer exists."
    assert outsider == [neutral] * 2
    assert owner == [
        "That is you.",
        "The owner cannot leave: transfer ownership or delete the team.",
        "They are no longer in the team.",
        neutral,
    ]
    assert malformed == ["This button is no longer active."] * 21
    assert query(url, "select user_id from team_members order by user_id") == [(1,), (10,)]
    assert query(url, "select owner_id, join_token from teams") == [(10, None)]


# --- ownership


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_transfer_ownership_moves_the_card_and_the_pending_invitations(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", lang=lang, name="Olga", team="Rocket", wants=("ml", "go"))
    other_team = seed(url, 20, role="team", team="Comet")
    seed(url, 1, role="cofounder", lang="ru", name="Ivan", wants=("sales",))
    seed(url, 2, lang="en", name="Petr")
    seed(url, 3, name="Asker")
    seed(url, 4, name="Invited")
    assert team is not None and other_team is not None
    join(url, team, 1, 2)
    request = invite(url, 3, 10, team, "request")
    invitation = invite(url, 10, 4, team, "invite")
    stray = invite(url, 1, 20, other_team, "request")  # Ivan's own request elsewhere
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, label(lang, "action_team_transfer"))
        await press(telegram, 10, "Ivan")
        confirm = telegram.last_message(10).text
        await press(telegram, 10, label(lang, "action_team_yes"))
        done = telegram.last_message(10).text
        await forge(telegram, 10, f"tm:delete:{team}:0")  # the old card's buttons
        refused = answers(telegram)[-1]
        await say(telegram, 10, "/team")
        old_owner_card = telegram.messages(10)[-2]  # the card, then the join request
        await say(telegram, 1, "/team")
        new_owner_messages = telegram.messages(1)
    assert confirm == says(lang, "team_confirm_transfer", name="Ivan", team="Rocket")
    assert done == says(lang, "team_transferred", name="Ivan", team="Rocket")
    assert refused == text(lang, "team_not_owner")
    assert old_owner_card.buttons == [label(lang, "action_team_leave")]
    assert new_owner_messages[0].text.startswith("Теперь вы владелец Rocket")
    card = new_owner_messages[1]
    assert "• Ivan — владелец\n• Olga\n• Petr" in card.text
    assert label("ru", "action_team_delete") in card.buttons
    # any member sees the team's pending join request, now addressed to the new owner
    assert new_owner_messages[2].text == "Asker просится в команду."
    assert texts(telegram, 2) == ["Ivan is now the owner of Rocket."]
    assert query(url, "select owner_id from teams where id = %s", team) == [(1,)]
    assert query(
        url,
        "select id, user_type, is_searching, looking_for from users where id in (1, 10)"
        " order by id",
    ) == [(1, "team", True, ["ml", "go"]), (10, "participant", False, ["ml", "go"])]
    assert query(
        url, "select id, sender_id, recipient_id, status from invitations order by id"
    ) == [
        (request, 3, 1, "pending"),
        (invitation, 1, 4, "pending"),
        (stray, 1, 20, "cancelled"),
    ]


# --- deleting a team


async def test_delete_cascades_members_are_told_once_and_a_double_tap_acts_once(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", team="Rocket")
    seed(url, 1, lang="ru")
    seed(url, 2, lang="en")
    seed(url, 3)
    seed(url, 4)
    assert team is not None
    join(url, team, 1, 2)
    invitation = invite(url, 10, 3, team, "invite")
    invite(url, 4, 10, team, "request")
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, "Delete team")
        confirm = telegram.last_message(10).text
        telegram.press(10, "Yes")
        telegram.press(10, "Yes")  # double tap
        await settle(telegram)
        done = telegram.last_message(10).text
        await forge(telegram, 3, f"inv:accept:{invitation}")  # the invitation's Accept
    assert confirm.startswith("Delete Rocket for good?")
    assert done == (
        "The team Rocket is deleted. You are a participant now; searching is paused until "
        "you update /profile."
    )
    assert texts(telegram, 1) == ["Владелец удалил команду Rocket. Найдите другую: /search"]
    assert texts(telegram, 2) == [
        "The team Rocket was deleted by its owner. Find another one: /search"
    ]
    assert "You are not in this team, or it no longer exists." in answers(telegram)
    assert answers(telegram)[-1] == "This invitation is no longer pending."
    assert query(url, "select count(*) from teams") == [(0,)]
    assert query(url, "select count(*) from team_members") == [(0,)]
    assert query(url, "select count(*) from invitations") == [(0,)]
    assert query(url, "select user_type, is_searching from users where id = 10") == [
        ("participant", False)
    ]


# --- join links and join requests


def _link_token(telegram: FakeTelegram, user: int) -> str:
    found = LINK.search(telegram.last_message(user).text)
    assert found is not None, telegram.last_message(user).text
    return found.group(1)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_join_link_request_any_member_accepts_and_a_revoked_link_is_refused(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", lang="en", name="Olga", team="Rocket", searching=False)
    seed(url, 2, lang=lang, name="Petr")
    seed(url, 1, lang=lang, name="Ivan")
    seed(url, 3, lang=lang)
    assert team is not None
    join(url, team, 2)
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, "🔗 Join link")
        payload = _link_token(telegram, 10)
        await press(telegram, 10, "🔗 Join link")
        assert _link_token(telegram, 10) == payload  # the same link until revoked
        # the link's username is the one learned at start: no getMe inside an update
        assert len(telegram.calls_of("getMe")) == 1
        await say(telegram, 1, f"/start {payload}")
        sent = telegram.last_message(1)
        owner_notice = telegram.last_message(10)
        await say(telegram, 2, "/team")  # a member, not the owner
        request = telegram.last_message(2)
        telegram.press(2, label(lang, "action_accept"))
        telegram.press(2, label(lang, "action_accept"))  # double tap
        await settle(telegram)
        accepted = telegram.last_message(2).text
        double_tap = answers(telegram)
        # the owner's notice lost its buttons; a press on what it had is stale
        owner_after = next(
            m for m in telegram.messages(10) if m.message_id == owner_notice.message_id
        )
        data = owner_notice.callback_data("Accept ✓")
        assert data is not None
        await telegram.wait_confirmed(telegram.press_button(10, owner_notice.message_id, data))
        owner_copy = answers(telegram)[-1]
        await press(telegram, 10, "Revoke link")
        revoked = texts(telegram, 10)
        await say(telegram, 3, f"/start {payload}")
        refused = telegram.last_message(3).text
        await say(telegram, 3, "/start team_$$$")
        malformed = telegram.last_message(3).text
    assert sent.text == says(lang, "team_join_sent", team="Rocket")
    assert sent.buttons == [label(lang, "action_withdraw_request")]
    assert owner_notice.text == "Ivan asks to join your team Rocket."
    assert owner_after.text == "Ivan asks to join your team Rocket.\n\n✓ Accepted by Petr"
    assert owner_after.buttons == []
    assert request.text == says(lang, "team_request", name="Ivan")
    pressed = next(m for m in telegram.messages(2) if m.message_id == request.message_id)
    assert pressed.text == request.text + "\n\n" + says(lang, "closed_accepted")
    assert pressed.buttons == []
    # the sender's own "sent" message: Withdraw is gone, it says what happened
    sent_after = next(m for m in telegram.messages(1) if m.message_id == sent.message_id)
    assert sent_after.text == sent.text + "\n\n" + says(lang, "closed_accepted_by", name="Petr")
    assert sent_after.buttons == []
    assert accepted == says(lang, "team_request_accepted_by", name="Ivan", contact="Ivan")
    assert texts(telegram, 1)[-1].startswith(
        {
            "en": "Petr accepted your request: you are now a member of Rocket.",
            "ru": "Заявку приняли: теперь вы в команде Rocket. Связаться с Petr:",
        }[lang]
    )
    assert sum("Rocket" in t for t in texts(telegram, 1)) == 2  # sent + accepted: once
    assert "Petr accepted Ivan into Rocket." in texts(telegram, 10)
    assert double_tap[-2:] == [None, text(lang, "invitation_stale")]
    assert owner_copy == "This invitation is no longer pending."
    assert "The link is revoked: it no longer works." in revoked  # the pressed message
    assert refused == says(lang, "team_link_invalid")
    assert malformed == says(lang, "team_link_invalid")
    assert query(url, "select user_id from team_members order by user_id") == [(1,), (2,), (10,)]
    assert query(url, "select join_token from teams") == [(None,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_second_member_answering_removes_the_first_members_buttons(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", lang="en", name="Olga", team="Rocket")
    seed(url, 2, lang=lang, name="Petr")
    seed(url, 3, lang="en", name="Eve")
    seed(url, 1, name="Ivan")
    seed(url, 4, name="Zoe")
    assert team is not None
    join(url, team, 2, 3)
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, "🔗 Join link")
        payload = _link_token(telegram, 10)
        await say(telegram, 1, f"/start {payload}")
        await say(telegram, 4, f"/start {payload}")
        owner_notices = telegram.messages(10)[-2:]
        await say(telegram, 2, "/team")  # Petr sees both requests
        petr_ivan, petr_zoe = telegram.messages(2)[-2:]
        await say(telegram, 3, "/team")  # so does Eve, who answers both
        eve_ivan, eve_zoe = telegram.messages(3)[-2:]
        await press(telegram, 3, "Accept ✓")  # the newest message with it: Zoe's
        telegram.press_button(3, eve_ivan.message_id, eve_ivan.callback_data("Decline") or "")
        await settle(telegram)
        # Petr's old buttons: gone, and a press on them is stale
        data = petr_zoe.callback_data(label(lang, "action_accept"))
        assert data is not None
        await telegram.wait_confirmed(telegram.press_button(2, petr_zoe.message_id, data))

    def now(message: Any) -> Any:
        return next(
            m for m in telegram.messages(message.chat_id) if m.message_id == message.message_id
        )

    for message, key in ((petr_zoe, "closed_accepted_by"), (petr_ivan, "closed_declined_by")):
        edited = now(message)
        assert edited.text == message.text + "\n\n" + says(lang, key, name="Eve")
        assert edited.buttons == []
    for message, key in ((eve_zoe, "closed_accepted"), (eve_ivan, "closed_declined")):
        assert now(message).text == message.text + "\n\n" + says("en", key)  # her own
    owner_ivan, owner_zoe = (now(m) for m in owner_notices)
    assert owner_zoe.text == "Zoe asks to join your team Rocket.\n\n✓ Accepted by Eve"
    assert owner_ivan.text == "Ivan asks to join your team Rocket.\n\n✗ Declined by Eve"
    assert owner_zoe.buttons == owner_ivan.buttons == []
    assert "Eve accepted Zoe into Rocket." in texts(telegram, 10)
    assert answers(telegram)[-1] == text(lang, "invitation_stale")
    assert query(url, "select user_id from team_members order by 1") == [(2,), (3,), (4,), (10,)]
    assert query(url, "select count(*) from invitation_messages") == [(0,)]


async def test_join_link_for_someone_in_a_team_and_declining(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", team="Rocket")
    other = seed(url, 20, role="team", team="Comet")
    seed(url, 1, lang="ru")
    seed(url, 2)
    assert team is not None and other is not None
    join(url, other, 2)
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, "🔗 Join link")
        payload = _link_token(telegram, 10)
        await say(telegram, 2, f"/start {payload}")
        already = telegram.last_message(2).text
        await say(telegram, 1, f"/start {payload}")
        await say(telegram, 1, f"/start {payload}")  # again: one pending per pair
        again = telegram.last_message(1).text
        await press(telegram, 10, "Decline")  # the owner's own notice, invitations router
        declined = telegram.last_message(1).text
    assert already == "You are already in the team Comet."
    assert again == "Между вами уже есть ожидающее приглашение."
    # a join request, declined: her request, not "your invitation"
    assert declined == "Вашу заявку в Rocket в этот раз отклонили. Ищите дальше: /search"
    assert query(url, "select status from invitations") == [("declined",)]


async def test_a_newcomer_registers_first_and_the_request_follows(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", team="<b>Rocket</b>")
    assert team is not None
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, "🔗 Join link")
        payload = _link_token(telegram, 10)
        telegram.send_text(5, f"/start {payload}", language_code="ru")
        await settle(telegram)
        first = texts(telegram, 5)
        for step in ("Русский", "Участник"):
            await press(telegram, 5, step)
        telegram.press(5, telegram.last_message(5).buttons[0])  # keep the Telegram name
        await settle(telegram)
        await say(telegram, 5, "python")
        await press(telegram, 5, "Готово ✓")
        await say(telegram, 5, "design")
        await press(telegram, 5, "Готово ✓")
        await press(telegram, 5, "Пропустить")
        await press(telegram, 5, "Заполню потом ⏭")
        await press(telegram, 5, "Подтвердить ✓")
    assert first[0] == (
        "Чтобы попроситься в <b>Rocket</b>, сначала зарегистрируйтесь; заявку я отправлю "
        "сразу после этого."
    )
    assert first[1] == "Выберите язык:"
    assert texts(telegram, 5)[-1] == "Заявка в <b>Rocket</b> отправлена. Я сообщу, когда ответят."
    assert telegram.last_message(10).text == "User asks to join your team <b>Rocket</b>."
    assert query(url, "select sender_id, recipient_id, team_id, kind, status from invitations") == [
        (5, 10, team, "request", "pending")
    ]


# --- the rules, straight against the service


@asynccontextmanager
async def service(settings: Settings) -> AsyncIterator[Database]:
    database = Database(url_of(settings), min_size=1, max_size=2)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


def test_validation_bounds() -> None:
    assert team_rules.clean_name("  a \n b ") == "a b"
    assert team_rules.clean_name("x" * 100) == "x" * 100
    assert team_rules.clean_name("x" * 101) is None
    assert team_rules.clean_name("   ") is None
    assert team_rules.clean_description("y" * 1000) == "y" * 1000
    assert team_rules.clean_description("y" * 1001) is None
    assert team_rules.clean_roles("Python, ML") == ["python", "ml"]
    assert team_rules.clean_roles("!!!") is None
    assert team_rules.clean_roles(",".join(f"s{i}" for i in range(11))) is None
    assert team_rules.token_from_payload("team_" + "A" * 22) == "A" * 22
    assert team_rules.token_from_payload("team_$$$") == ""
    assert team_rules.token_from_payload("ref_abc") is None


async def test_only_the_owner_manages_and_only_members_act(settings: Settings) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", team="Rocket")
    seed(url, 1)
    seed(url, 2)
    seed(url, 3)
    assert team is not None
    join(url, team, 1)
    async with service(settings) as db:
        for owner_only in (
            team_rules.rename(db, 1, team, "Mine now"),
            team_rules.describe(db, 1, team, "x"),
            team_rules.set_roles(db, 1, team, "sales"),
            team_rules.remove_member(db, 1, team, 10),
            team_rules.transfer(db, 1, team, 1),
            team_rules.delete(db, 1, team),
            team_rules.join_link(db, 1, team),
            team_rules.revoke_link(db, 1, team),
            team_rules.managed(db, 1, team),
        ):
            assert await owner_only == Refusal.NOT_OWNER
        assert await team_rules.delete(db, 2, team) == Refusal.NOT_MEMBER
        assert await team_rules.leave(db, 2, team) == Refusal.NOT_MEMBER
        assert await team_rules.leave(db, 10, team) == Refusal.OWNER_CANNOT_LEAVE
        assert await team_rules.remove_member(db, 10, team, 10) == Refusal.SELF
        assert await team_rules.transfer(db, 10, team, 10) == Refusal.SELF
        assert await team_rules.remove_member(db, 10, team, 2) == Refusal.MEMBER_GONE
        assert await team_rules.transfer(db, 10, team, 2) == Refusal.MEMBER_GONE
        assert await team_rules.revoke_link(db, 10, team) == Refusal.NO_LINK
        assert await team_rules.delete(db, 10, team + 100) == Refusal.GONE
        with pytest.raises(ValueError):
            await team_rules.rename(db, 10, team, "x" * 101)

        # join requests: any member answers, once; outsiders cannot
        first = invite(url, 2, 10, team, "request")
        assert await team_rules.answer_request(db, 3, team, first, accept=True) == (
            Refusal.NOT_MEMBER
        )
        answered = await team_rules.answer_request(db, 1, team, first, accept=True)
        assert not isinstance(answered, Refusal)
        assert (answered.sender.id, answered.actor.id, answered.recipient.id) == (2, 1, 10)
        assert answered.joiner.id == 2 and answered.invitation.status == "accepted"
        again = await team_rules.answer_request(db, 10, team, first, accept=False)
        assert again == Refusal.REQUEST_GONE
        view = await team_rules.team_of(db, 2)
        assert isinstance(view, TeamView)
        assert [m.id for m in view.members] == [10, 1, 2]

        # someone who joined another team meanwhile: the request closes
        other = seed(url, 20, role="team", team="Comet")
        assert other is not None
        second = invite(url, 3, 10, team, "request")
        join(url, other, 3)
        closed = await team_rules.answer_request(db, 10, team, second, accept=True)
        assert not isinstance(closed, Refusal) and closed.in_other_team
        assert query(url, "select status from invitations where id = %s", second) == [
            ("cancelled",)
        ]

        # removing, then the same again (a double tap)
        removed = await team_rules.remove_member(db, 10, team, 1)
        assert not isinstance(removed, Refusal) and removed.person is not None
        assert removed.person.id == 1
        assert await team_rules.remove_member(db, 10, team, 1) == Refusal.MEMBER_GONE
        assert await team_rules.leave(db, 2, team) != Refusal.NOT_MEMBER
        assert await team_rules.leave(db, 2, team) == Refusal.NOT_MEMBER


async def test_join_links_through_the_invitation_rules(settings: Settings) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", team="Rocket", searching=False)
    seed(url, 1)
    seed(url, 2, role="cofounder")
    seed(url, 3)
    assert team is not None
    async with service(settings) as db:
        linked = await team_rules.join_link(db, 10, team)
        assert not isinstance(linked, Refusal) and linked.join_token is not None
        token = linked.join_token
        same = await team_rules.join_link(db, 10, team)
        assert not isinstance(same, Refusal) and same.join_token == token

        # a paused team still takes requests through its own link
        outcome = await team_rules.request_to_join(db, 1, token, per_day=1, hours=72)
        assert outcome.sent is not None and outcome.sent.invitation is not None
        assert outcome.sent.invitation.kind == "request"
        assert outcome.sent.invitation.recipient_id == 10
        again = await team_rules.request_to_join(db, 1, token, per_day=5, hours=72)
        assert again.sent is not None and again.sent.refusal == InviteRefusal.ALREADY_PENDING
        cofounder = await team_rules.request_to_join(db, 2, token, per_day=0, hours=72)
        assert cofounder.sent is not None and cofounder.sent.refusal == InviteRefusal.QUOTA
        owner = await team_rules.request_to_join(db, 10, token, per_day=5, hours=72)
        assert owner.refusal == Refusal.ALREADY_IN_TEAM
        # the team invited them first: the request says theirs waits for an answer
        invite(url, 10, 3, team, "invite")
        invited = await team_rules.request_to_join(db, 3, token, per_day=5, hours=72)
        assert invited.sent is not None
        assert invited.sent.refusal == InviteRefusal.THEIRS_PENDING
        assert (await team_rules.request_to_join(db, 3, "", per_day=5, hours=72)).refusal == (
            Refusal.LINK_INVALID
        )

        revoked = await team_rules.revoke_link(db, 10, team)
        assert not isinstance(revoked, Refusal)
        gone = await team_rules.request_to_join(db, 3, token, per_day=5, hours=72)
        assert gone.refusal == Refusal.LINK_INVALID
        fresh = await team_rules.join_link(db, 10, team)
        assert not isinstance(fresh, Refusal) and fresh.join_token not in (None, token)


async def test_transfer_and_delete_keep_invitations_consistent(settings: Settings) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", team="Rocket", wants=("ml",))
    seed(url, 1, role="cofounder")
    seed(url, 2, role="cofounder")
    seed(url, 3)
    assert team is not None
    join(url, team, 1)
    between = invite(url, 1, 10, team, "request")  # a stale request by the new owner
    connect_ = invite(url, 1, 2, None, "connect")  # the new owner's own co-founder connect
    request = invite(url, 3, 10, team, "request")
    async with service(settings) as db:
        moved = await team_rules.transfer(db, 10, team, 1)
        assert not isinstance(moved, Refusal) and moved.person is not None
        assert moved.person.id == 1
        assert await team_rules.transfer(db, 10, team, 1) == Refusal.NOT_OWNER  # double tap
        rows = query(url, "select id, sender_id, recipient_id, status from invitations order by id")
        assert rows == [
            (between, 1, 10, "cancelled"),
            (connect_, 1, 2, "cancelled"),
            (request, 3, 1, "pending"),
        ]
        # the new owner answers through the ordinary invitation buttons, too
        assert query(
            url, "select owner_id, user_type from teams join users on users.id = owner_id"
        ) == [(1, "team")]
        deleted = await team_rules.delete(db, 1, team)
        assert not isinstance(deleted, Refusal)
        assert [m.id for m in deleted.told] == [10]
        assert await team_rules.delete(db, 1, team) == Refusal.GONE  # double tap
    assert query(url, "select count(*) from invitations where team_id is not null") == [(0,)]
    assert query(url, "select count(*) from invitations") == [(1,)]  # the connect stays
    assert query(
        url, "select id, user_type, is_searching from users where id in (1, 10) order by id"
    ) == [
        (1, "participant", False),
        (10, "participant", False),
    ]


async def test_accepting_someone_who_joined_another_team_closes_the_request(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    rocket = seed(url, 10, role="team", team="Rocket")
    comet = seed(url, 20, role="team", team="Comet")
    seed(url, 1, lang="ru", name="Ivan")
    assert rocket is not None and comet is not None
    async with running(settings):
        await say(telegram, 10, "/team")
        await press(telegram, 10, "🔗 Join link")
        await say(telegram, 1, f"/start {_link_token(telegram, 10)}")
        sent, notice = telegram.last_message(1), telegram.last_message(10)
        join(url, comet, 1)  # Comet took him meanwhile
        await press(telegram, 10, "Accept ✓")
    assert (
        telegram.last_message(10).text == "They are already in another team; the request is closed."
    )
    [notice_now] = [m for m in telegram.messages(10) if m.message_id == notice.message_id]
    [sent_now] = [m for m in telegram.messages(1) if m.message_id == sent.message_id]
    assert (notice_now.text, notice_now.buttons) == (notice.text + "\n\nCancelled", [])
    assert (sent_now.text, sent_now.buttons) == (sent.text + "\n\nОтменено", [])
    assert query(url, "select status from invitations") == [("cancelled",)]
    assert query(url, "select team_id from team_members where user_id = 1") == [(comet,)]
