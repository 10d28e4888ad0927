"""Events (issue 13): /event new and its link, joining (newcomers register first, people
registered join with one tap), ended and unknown links, the organizers' list and End, and
auto-fill: proposals, everyone accepts → a team, one declines → nothing, nobody placed
without saying yes. Through the fake Bot API in both languages; the grouping rule on its own."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import anyio
import pytest

from teambot.config import Settings
from teambot.domain import MUST_HAVE, EventPerson
from teambot.services import events as event_rules
from teambot.services.events import Answered, Group, Refusal, propose_groups
from teambot.texts import text
from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram
from tests.test_conversations import settle
from tests.test_invitations import execute, now
from tests.test_teams import connect, join, query, says, seed, service, url_of

pytestmark = pytest.mark.anyio

ADMIN = 900
EVENT_LINK = re.compile(r"https://t\.me/teambot_test_bot\?start=(ev_[a-z0-9-]+)")


@pytest.fixture
def settings(telegram: FakeTelegram, database_url: str) -> Settings:
    return make_settings(telegram, database_url, admin_ids=str(ADMIN))


def make_event(
    url: str,
    name: str = "Demo Day",
    slug: str = "demo-day",
    *,
    ends_in: int = 3,
    size: int | None = None,
    ended: bool = False,
    members: tuple[int, ...] = (),
) -> int:
    today = date.today()
    with connect(url) as conn:
        row = conn.execute(
            "insert into events (slug, name, starts_on, ends_on, team_size_limit, ended_at)"
            " values (%s, %s, %s, %s, %s, case when %s then now() end) returning id",
            (
                slug,
                name,
                min(today, today + timedelta(days=ends_in)),
                today + timedelta(days=ends_in),
                size,
                ended,
            ),
        ).fetchone()
        assert row is not None
        event_id = int(row["id"])
        for member in members:
            conn.execute(
                "insert into event_members (event_id, user_id) values (%s, %s)", (event_id, member)
            )
    return event_id


def members_of(url: str, event_id: int) -> list[int]:
    rows = query(url, "select user_id from event_members where event_id = %s order by 1", event_id)
    return [row[0] for row in rows]


def teams_of(url: str) -> list[tuple[str, int, list[int]]]:
    """Every team: its name, owner and members."""
    rows = query(
        url,
        "select t.name, t.owner_id, array_agg(m.user_id order by m.user_id) from teams t"
        " join team_members m on m.team_id = t.id group by t.id order by t.id",
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def say(telegram: FakeTelegram, user: int, words: str, lang: str = "en") -> None:
    telegram.send_text(user, words, language_code=lang)
    await settle(telegram)


async def press(telegram: FakeTelegram, user: int, label: str, lang: str = "en") -> None:
    telegram.press(user, label, language_code=lang)
    await settle(telegram)


async def press_again(
    telegram: FakeTelegram, user: int, message_id: int, data: str, lang: str = "en"
) -> None:
    """A press on a button that was there once (its message may have lost it since)."""
    update = telegram.press_button(user, message_id, data, language_code=lang)
    await telegram.wait_confirmed(update)
    await settle(telegram)


def last_answer(telegram: FakeTelegram) -> str | None:
    return telegram.callback_answers[-1][1]


async def finish_registration(telegram: FakeTelegram, user: int, lang: str) -> None:
    """After /start: language, Participant, the name kept, skills, wants, no bio, the
    matching fields left for later, confirm."""
    await press(telegram, user, {"en": "English", "ru": "Русский"}[lang], lang)
    await press(telegram, user, text(lang, "role_participant"), lang)
    await press(telegram, user, telegram.last_message(user).buttons[0], lang)
    await say(telegram, user, "python", lang)
    await press(telegram, user, text(lang, "done"), lang)
    await say(telegram, user, "design", lang)
    await press(telegram, user, text(lang, "done"), lang)
    await press(telegram, user, text(lang, "skip"), lang)
    await press(telegram, user, text(lang, "pf_skip_rest"), lang)  # the matching fields
    await press(telegram, user, text(lang, "confirm"), lang)


# --- creating an event


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_admin_creates_an_event_and_gets_its_link(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    today = date.today()
    end = today + timedelta(days=2)
    async with running(settings):
        await say(telegram, ADMIN, "/event new", lang)
        asked_name = telegram.last_message(ADMIN).text
        await say(telegram, ADMIN, "Весенний хакатон 2026", lang)
        await say(telegram, ADMIN, "32.13.2026", lang)  # no such day
        bad_date = telegram.last_message(ADMIN).text
        await press(telegram, ADMIN, text(lang, "event_today"), lang)
        await say(telegram, ADMIN, (today - timedelta(days=1)).isoformat(), lang)
        before_start = telegram.last_message(ADMIN).text
        await say(telegram, ADMIN, end.strftime("%d.%m.%Y"), lang)
        await say(telegram, ADMIN, "1", lang)  # too small a team
        bad_size = telegram.last_message(ADMIN).text
        await press(telegram, ADMIN, "4", lang)
        created = telegram.last_message(ADMIN).text
        # the same name again: another slug
        await say(telegram, ADMIN, "/event new", lang)
        await say(telegram, ADMIN, "Весенний хакатон 2026", lang)
        await press(telegram, ADMIN, text(lang, "event_tomorrow"), lang)
        await press(telegram, ADMIN, text(lang, "event_week_later"), lang)
        await press(telegram, ADMIN, text(lang, "event_no_limit"), lang)
        second = telegram.last_message(ADMIN).text
        # not an admin: /event new is not theirs
        seed(url, 1, lang=lang)
        await say(telegram, 1, "/event new", lang)
        not_admin = telegram.last_message(1).text
    assert asked_name == says(lang, "event_ask_name", max=100)
    assert bad_date == says(lang, "event_date_invalid")
    starts = today.strftime("%d.%m.%Y") if lang == "ru" else today.isoformat()
    assert before_start == says(lang, "event_ends_before_start", starts=starts)
    assert bad_size == says(lang, "event_size_invalid", max=50)
    assert EVENT_LINK.findall(created) == ["ev_vesenniy-khakaton-2026"]
    assert EVENT_LINK.findall(second) == ["ev_vesenniy-khakaton-2026-2"]
    assert ("teams of up to 4" if lang == "en" else "команды до 4 человек") in created
    assert ("no team size limit" if lang == "en" else "размер команд не ограничен") in second
    rows = query(url, "select slug, starts_on, ends_on, team_size_limit from events order by id")
    tomorrow = today + timedelta(days=1)
    assert rows == [
        ("vesenniy-khakaton-2026", today, end, 4),
        ("vesenniy-khakaton-2026-2", tomorrow, tomorrow + timedelta(days=7), None),
    ]
    assert not_admin == says(lang, "event_mine_none")
    # the link's username is the one learned at start: no getMe while handling updates
    assert len(telegram.calls_of("getMe")) == 1


# --- the link


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_newcomer_registers_from_the_link_and_lands_in_the_event(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    event = make_event(url, "Demo <Day>")
    async with running(settings):
        await say(telegram, 5, "/start ev_demo-day", lang)
        welcome = telegram.messages(5)[0].text
        in_event_while_registering = members_of(url, event)
        await finish_registration(telegram, 5, lang)
        landed = telegram.last_message(5).text
        await say(telegram, 5, "/events", lang)
        listed = telegram.last_message(5).text
    assert welcome == says(lang, "event_register", event="Demo &lt;Day&gt;")
    assert in_event_while_registering == []
    assert landed == says(lang, "event_joined", event="Demo &lt;Day&gt;")
    assert members_of(url, event) == [5]
    assert "Demo <Day>" in listed


async def test_the_event_survives_a_restart_in_the_middle_of_registration(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    event = make_event(url, "Demo Day")
    async with running(settings):
        await say(telegram, 5, "/start ev_demo-day")
        await press(telegram, 5, "English")
        await press(telegram, 5, text("en", "role_participant"))
    async with running(settings):  # the dialogue's state, the event with it, was stored
        await press(telegram, 5, telegram.last_message(5).buttons[0])  # keep the name
        await say(telegram, 5, "python")
        await press(telegram, 5, text("en", "done"))
        await say(telegram, 5, "design")
        await press(telegram, 5, text("en", "done"))
        await press(telegram, 5, text("en", "skip"))
        await press(telegram, 5, text("en", "pf_skip_rest"))  # the matching fields
        await press(telegram, 5, text("en", "start_over"))  # starting over keeps it too
    async with running(settings):
        await finish_registration(telegram, 5, "en")
    assert telegram.last_message(5).text == says("en", "event_joined", event="Demo Day")
    assert members_of(url, event) == [5]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_registered_person_joins_with_one_tap(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 1, lang=lang)
    event = make_event(url, "Demo Day")
    make_event(url, "Old Cohort", "old-cohort", ended=True, members=(1,))
    async with running(settings):
        await say(telegram, 1, "/start ev_demo-day", lang)
        offer = telegram.last_message(1)
        joined_before = members_of(url, event)
        await press(telegram, 1, offer.buttons[0], lang)
        joined = telegram.last_message(1)
        data = offer.callback_data(offer.buttons[0])
        assert data is not None
        await press_again(telegram, 1, offer.message_id, data)  # a double tap
        again = last_answer(telegram)
        await say(telegram, 1, "/start ev_demo-day", lang)
        opened_again = telegram.last_message(1).text
        await say(telegram, 1, "/events", lang)
        mine = telegram.last_message(1).text
        forged = []
        for data in ("eva:join:999999", "eva:join:0", "eva:join:x", f"eva:fill:{event}"):
            await press_again(telegram, 1, offer.message_id, data, lang)
            forged.append(last_answer(telegram))
    assert forged == [text(lang, "stale_button")] * 4
    assert offer.buttons == [text(lang, "action_event_join", event="Demo Day")]
    assert joined_before == []
    assert joined.text == says(lang, "event_joined", event="Demo Day")
    assert joined.buttons == []
    assert again == text(lang, "event_already_in_short")
    assert opened_again == says(lang, "event_already_in", event="Demo Day")
    assert members_of(url, event) == [1]
    ended = text(lang, "event_card_ended")
    assert mine.splitlines()[1].startswith("• Demo Day")
    assert mine.splitlines()[2].startswith("• Old Cohort") and mine.endswith(ended)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_ended_and_unknown_links_get_a_polite_answer(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    ended = make_event(url, "Ended", "ended-one", ended=True)
    past = make_event(url, "Past", "past-one", ends_in=-1)
    seed(url, 1, lang=lang)
    async with running(settings):
        for payload in ("ev_ended-one", "ev_past-one", "ev_nothing-here", "ev_BAD!"):
            await say(telegram, 1, f"/start {payload}", lang)
        registered = [m.text for m in telegram.messages(1)]
        await say(telegram, 6, "/start ev_ended-one", lang)
        newcomer = [m.text for m in telegram.messages(6)]
    assert registered == [
        says(lang, "event_link_ended", event="Ended"),
        says(lang, "event_link_ended", event="Past"),
        says(lang, "event_link_unknown"),
        says(lang, "event_link_unknown"),
    ]
    # a newcomer hears why, then may register all the same
    assert newcomer == [
        says(lang, "event_link_ended", event="Ended"),
        says(lang, "choose_language"),
    ]
    assert members_of(url, ended) == members_of(url, past) == []


# --- the organizers' list


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_organizers_list_events_with_counts_and_end_one(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 1, lang=lang)
    seed(url, 2, lang=lang)
    first = make_event(url, "Cohort", "cohort", members=(1, 2))
    make_event(url, "Old", "old", ended=True, members=(1,))
    async with running(settings):
        await say(telegram, ADMIN, "/events", lang)
        cards = telegram.messages(ADMIN)
        cohort = next(card for card in cards if card.text.startswith("Cohort"))
        await press(telegram, ADMIN, text(lang, "action_event_end"), lang)
        after = next(m for m in telegram.messages(ADMIN) if m.message_id == cohort.message_id)
        data = cohort.callback_data(text(lang, "action_event_end"))
        assert data is not None
        await press_again(telegram, ADMIN, cohort.message_id, data)
        twice = last_answer(telegram)
        await press_again(telegram, 1, cohort.message_id, data)  # not an organizer
        forged = last_answer(telegram)
        await say(telegram, 3, "/start ev_cohort", lang)
        link_after = telegram.messages(3)[0].text
    people = {"en": "2 people", "ru": "2 участника"}[lang]
    assert len(cards) == 2
    assert people in cohort.text and "https://t.me/teambot_test_bot?start=ev_cohort" in cohort.text
    assert cohort.buttons == [text(lang, "action_event_fill"), text(lang, "action_event_end")]
    old = next(card for card in cards if card.text.startswith("Old"))
    assert old.buttons == [] and text(lang, "event_card_ended") in old.text
    assert after.buttons == [] and text(lang, "event_card_ended") in after.text
    assert twice == text(lang, "event_already_ended")
    assert forged == text(lang, "stale_button")
    assert link_after == says(lang, "event_link_ended", event="Cohort")
    assert query(url, "select ended_at is not null from events where id = %s", first) == [(True,)]


# --- auto-fill


async def fill(telegram: FakeTelegram, lang: str = "en") -> None:
    await say(telegram, ADMIN, "/events", lang)
    await press(telegram, ADMIN, text(lang, "action_event_fill"), lang)


def report(lang: str, event: str, **counts: int) -> str:
    values = dict.fromkeys(
        ("groups", "people", "accepted", "declined", "waiting", "formed", "failed", "unplaced"), 0
    )
    return says(lang, "event_fill_report", event=event, **(values | counts))


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_autofill_forms_a_team_only_when_everyone_accepts(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    seed(url, 2, lang=lang, name="Anna", skills=("design",), wants=("python",))
    seed(url, 3, lang=lang, name="Petr", skills=("marketing",), wants=("python",))
    seed(url, 4, lang=lang, name="Olga", skills=("design",), wants=("python",))  # not in it
    make_event(url, "Demo Day", members=(1, 2, 3))
    async with running(settings):
        telegram.send_text(ADMIN, "/start", language_code=lang)  # the organizer's language
        await settle(telegram)
        await fill(telegram, lang)
        reported = telegram.last_message(ADMIN)
        proposal = telegram.last_message(1)
        annas = telegram.last_message(2)
        petr_before = len(telegram.messages(3))
        await press(telegram, 1, text(lang, "action_accept"), lang)
        after_one = teams_of(url)
        waiting = telegram.messages(1)[-1]
        report_after_one = next(
            m for m in telegram.messages(ADMIN) if m.message_id == reported.message_id
        ).text
        await press(telegram, 2, text(lang, "action_accept"), lang)
        formed = teams_of(url)
        ivan, anna = telegram.messages(1), telegram.messages(2)
        final_report = next(
            m for m in telegram.messages(ADMIN) if m.message_id == reported.message_id
        ).text
        await fill(telegram, lang)  # again: nobody left to group
        nobody = last_answer(telegram)
    assert reported.text == report(lang, "Demo Day", groups=1, people=2, waiting=2, unplaced=1)
    assert proposal.buttons == [text(lang, "action_accept"), text(lang, "action_decline")]
    assert "Ivan" in proposal.text and "Anna" in proposal.text and "Petr" not in proposal.text
    assert annas.text == proposal.text and annas.buttons == proposal.buttons
    assert len(telegram.messages(3)) == petr_before == 0  # Petr was in no group
    assert telegram.messages(4) == []
    assert after_one == []  # nobody is placed before everyone said yes
    assert waiting.text.endswith(says(lang, "event_proposal_waiting")) and waiting.buttons == []
    assert report_after_one == report(
        lang, "Demo Day", groups=1, people=2, accepted=1, waiting=1, unplaced=1
    )
    assert formed == [("Demo Day · 1", 1, [1, 2])]
    for messages, other in ((ivan, "Anna"), (anna, "Ivan")):
        assert messages[-1].text.startswith(
            says(
                lang, "event_team_formed", team="Demo Day · 1", event="Demo Day", members=""
            ).split(":")[0]
        )
        assert other in messages[-1].text
    # Ivan's proposal lost its buttons when the team formed
    assert all(m.buttons == [] for m in ivan + anna)
    assert final_report == report(
        lang, "Demo Day", groups=1, people=2, accepted=2, formed=1, unplaced=1
    )
    assert nobody == text(lang, "event_fill_nobody")


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_one_decline_forms_nothing_and_tells_the_others(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design", "ml"))
    seed(url, 2, lang=lang, name="Anna", skills=("design",), wants=("python",))
    seed(url, 3, lang=lang, name="Petr", skills=("ml",), wants=("python",))
    make_event(url, "Demo Day", size=3, members=(1, 2, 3))
    async with running(settings):
        await fill(telegram, lang)
        proposal = telegram.last_message(3)
        data = proposal.callback_data(text(lang, "action_accept"))
        assert data is not None
        await press(telegram, 1, text(lang, "action_accept"), lang)
        await press(telegram, 2, text(lang, "action_decline"), lang)
        declined = telegram.last_message(2)
        petr = telegram.messages(3)
        ivan = telegram.last_message(1).text
        await press_again(telegram, 3, proposal.message_id, data)  # after the group failed
        closed = last_answer(telegram)
        await press_again(telegram, 1, proposal.message_id, data)  # not Ivan's message, his group
        answered = last_answer(telegram)
        await press_again(telegram, 4, proposal.message_id, data, lang)  # never proposed
        stranger = last_answer(telegram)
        await fill(telegram, lang)  # the group failed: they may be proposed again
        again = [telegram.last_message(user) for user in (1, 2, 3)]
    assert "Petr" in proposal.text and "Anna" in proposal.text
    assert declined.text.endswith(says(lang, "event_proposal_declined_you"))
    assert declined.buttons == []
    told = says(lang, "event_proposal_declined", event="Demo Day", number=1)
    assert petr[-1].text == told and ivan == told
    assert petr[0].buttons == []
    assert petr[0].text.endswith(says(lang, "event_proposal_failed_line"))
    assert closed == text(lang, "event_proposal_closed")
    assert answered == text(lang, "event_proposal_answered")
    assert stranger == text(lang, "stale_button")
    assert teams_of(url) == []
    assert all(message.buttons for message in again)
    statuses = query(url, "select number, status from event_proposals order by id")
    assert statuses == [(1, "failed"), (1, "pending")]


async def test_an_owner_short_of_members_gets_people_into_their_own_team(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    team = seed(url, 10, role="team", name="Olga", team="Rocket", wants=("design",))
    seed(url, 1, name="Ivan", skills=("design",), wants=("python",))
    make_event(url, "Demo Day", members=(1, 10))
    async with running(settings):
        await fill(telegram)
        await press(telegram, 10, text("en", "action_accept"))
        await press(telegram, 1, text("en", "action_accept"))
    assert teams_of(url) == [("Rocket", 10, [1, 10])]
    assert team is not None
    assert "Rocket" in telegram.last_message(1).text


async def test_a_group_whose_member_found_another_team_meanwhile_does_not_form(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    seed(url, 1, name="Ivan", skills=("python",), wants=("design",))
    seed(url, 2, name="Anna", skills=("design",), wants=("python",))
    other = seed(url, 10, role="team", team="Elsewhere", wants=("ml",), searching=False)
    make_event(url, "Demo Day", members=(1, 2))
    assert other is not None
    async with running(settings):
        await fill(telegram)
        join(url, other, 2)  # Anna joined another team before answering
        await press(telegram, 1, text("en", "action_accept"))
        await press(telegram, 2, text("en", "action_accept"))
    assert teams_of(url) == [("Elsewhere", 10, [2, 10])]
    told = says("en", "event_proposal_unavailable", event="Demo Day", number=1)
    assert telegram.last_message(1).text == told
    assert telegram.last_message(2).text == told


async def test_answers_at_the_same_moment_form_one_team_once(settings: Settings) -> None:
    """Every member of a group of four accepts twice, all at once: the group's lock puts
    the answers in a row, so the team forms once, with everyone, and the second presses
    are refused."""
    url = url_of(settings)
    seed(url, 1, skills=("python",), wants=("design", "ml", "data"))
    for user, skill in ((2, "design"), (3, "ml"), (4, "data")):
        seed(url, user, skills=(skill,), wants=("python",))
    event = make_event(url, "Demo Day", members=(1, 2, 3, 4))
    seed(url, ADMIN)
    outcomes: list[Answered | Refusal] = []
    async with service(settings) as database:
        proposed = await event_rules.autofill(database, ADMIN, event)
        assert not isinstance(proposed, Refusal)
        [group] = proposed.groups
        assert [m.id for m in group.members] == [1, 2, 3, 4]

        async def accept(user: int) -> None:
            outcome = await event_rules.answer(database, user, group.proposal_id, accept=True)
            outcomes.append(outcome)

        async with anyio.create_task_group() as tg:
            for user in (1, 2, 3, 4, 1, 2, 3, 4):
                tg.start_soon(accept, user)
    answered = [o for o in outcomes if isinstance(o, Answered)]
    assert sorted(o.actor.id for o in answered) == [1, 2, 3, 4]
    assert [o.status for o in answered].count("formed") == 1
    assert [o.status for o in answered].count("pending") == 3
    assert [o for o in outcomes if isinstance(o, Refusal)] == [Refusal.ALREADY] * 4
    assert teams_of(url) == [("Demo Day · 1", 1, [1, 2, 3, 4])]


# --- the grouping rule


def person(user_id: int, skills: str, wants: str, **fields: Any) -> EventPerson:
    return EventPerson(user_id, skills.split(), wants.split(), **fields)


def test_groups_pair_complementary_people_and_leave_the_rest() -> None:
    people = [
        person(1, "python", "design"),
        person(2, "marketing", "python"),  # covers nothing Ivan wants
        person(3, "design", "python"),
        person(4, "design", "marketing"),
    ]
    # Ivan (first in) is paired with the designer who also wants what he offers; the
    # marketer finds nobody offering python any more, but the other designer, who wants
    # marketing, finds the marketer
    assert propose_groups(people, 2) == [Group((1, 3)), Group((4, 2))]


def test_groups_grow_to_the_limit_and_no_further() -> None:
    people = [person(1, "python", "design ml data")] + [
        person(i, tag, "python") for i, tag in ((2, "design"), (3, "ml"), (4, "data"))
    ]
    assert propose_groups(people, 3) == [Group((1, 2, 3))]
    assert propose_groups(people, None) == [Group((1, 2, 3, 4))]  # DEFAULT_GROUP_SIZE


def test_one_role_focus_per_group_and_an_empty_one_never_conflicts() -> None:
    people = [
        person(1, "python", "design", role_focus="technical"),
        person(2, "design", "python", role_focus="technical"),
        person(3, "design", "python"),
    ]
    assert propose_groups(people, 2) == [Group((1, 3))]


def test_must_haves_where_they_clearly_apply() -> None:
    role = person(1, "python", "design", want_role=MUST_HAVE, wanted_roles=["design"])
    assert propose_groups([role, person(2, "design", "", role_focus="business")], 2) == []
    assert propose_groups([role, person(2, "design", "", role_focus="design")], 2) == [
        Group((1, 2))
    ]
    zone = person(1, "python", "design", utc_offset=0, want_time_zone=MUST_HAVE, time_zone_hours=3)
    assert propose_groups([zone, person(2, "design", "", utc_offset=9 * 60)], 2) == []
    assert propose_groups([zone, person(2, "design", "", utc_offset=2 * 60)], 2) == [Group((1, 2))]
    assert propose_groups([zone, person(2, "design", "")], 2) == [Group((1, 2))]  # unknown
    # the other side's must-have counts too
    mode = person(2, "design", "", work_mode="on_site", want_work_mode=MUST_HAVE)
    assert propose_groups([person(1, "python", "design", work_mode="remote"), mode], 2) == []
    words = person(2, "design", "", languages=["ru"], want_language=MUST_HAVE)
    assert propose_groups([person(1, "python", "design", languages=["en"]), words], 2) == []
    assert propose_groups([person(1, "python", "design", languages=["en", "ru"]), words], 2)


def test_team_owners_seed_their_own_team_and_count_its_members() -> None:
    owner = person(10, "", "design ml", team_id=7, team_members=2)
    full = person(11, "", "design", team_id=8, team_members=4)
    people = [person(1, "design", ""), full, person(2, "ml", ""), owner, person(3, "ml", "")]
    # the owner first (teams short of members seed first), with room for one more at 3;
    # the full team's owner is neither a seed nor added to anyone's group
    assert propose_groups(people, 3) == [Group((10, 1), team_id=7)]
    assert propose_groups(people, 4) == [Group((10, 1, 2), team_id=7)]


def test_nobody_is_in_two_groups() -> None:
    people = [
        person(i, "python", "design") if i % 2 else person(i, "design", "python")
        for i in range(1, 8)
    ]
    groups = propose_groups(people, 2)
    placed = [member for group in groups for member in group.members]
    assert len(placed) == len(set(placed)) == 6


def test_slugs_and_dates() -> None:
    assert event_rules.slug_base("Хакатон «Весна» 2026!") == "khakaton-vesna-2026"
    assert event_rules.slug_base("Щука & ёж") == "shchuka-ezh"
    assert event_rules.slug_base("Я") == "event-ya"
    assert event_rules.slug_base("🎉") == "event"
    long = event_rules.slug_base("Очень длинное название события для проверки обрезки")
    assert len(long) <= 36 and not long.endswith("-")
    assert event_rules.free_slug("demo", {"demo", "demo-2"}) == "demo-3"
    assert event_rules.slug_from_payload("ev_demo-day") == "demo-day"
    assert event_rules.slug_from_payload("ev_Demo") == ""
    assert event_rules.slug_from_payload("team_x") is None
    assert event_rules.parse_date("2026-12-10") == date(2026, 12, 10)
    assert event_rules.parse_date(" 1.2.2027 ") == date(2027, 2, 1)
    assert event_rules.parse_date("30.02.2027") is None
    assert event_rules.parse_date("tomorrow") is None


async def test_the_organizer_hears_of_a_proposal_that_does_not_arrive(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = url_of(settings)
    seed(url, 1, name="Ivan", skills=("python",), wants=("design",))
    seed(url, 2, name="Anna", skills=("design",), wants=("python",))
    make_event(url, "Demo Day", members=(1, 2))
    telegram.block_user(2)
    async with running(settings):
        await fill(telegram)
    assert telegram.last_message(ADMIN).text == says("en", "unreachable", name="Anna")
    assert teams_of(url) == []


# --- several events, group chats, forged and stale presses


def card_button(telegram: FakeTelegram, name: str, label: str) -> tuple[int, str]:
    """The message id and callback data of `label` under the organizer's latest card of
    the event called `name`."""
    card = next(m for m in reversed(telegram.messages(ADMIN)) if m.text.startswith(name))
    data = card.callback_data(label)
    assert data is not None, (name, label, card.buttons)
    return card.message_id, data


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_person_in_several_events_is_proposed_in_one_at_a_time(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    seed(url, 2, lang=lang, name="Anna", skills=("design",), wants=("python",))
    seed(url, 3, lang=lang, name="Olga", skills=("design",), wants=("python",))
    cohort = make_event(url, "Cohort", "cohort", members=(2,))
    hackathon = make_event(url, "Hackathon", "hackathon", members=(3,))
    fill_label, end_label = text(lang, "action_event_fill"), text(lang, "action_event_end")
    async with running(settings):
        for slug in ("cohort", "hackathon"):
            await say(telegram, 1, f"/start ev_{slug}", lang)
            await press(telegram, 1, telegram.last_message(1).buttons[0], lang)
        await say(telegram, 1, "/events", lang)
        both = telegram.last_message(1).text
        await say(telegram, ADMIN, "/events", lang)
        await press_again(telegram, ADMIN, *card_button(telegram, "Cohort", fill_label), lang)
        in_cohort = {user: telegram.last_message(user) for user in (1, 2)}
        olga_before = telegram.messages(3)
        # Ivan's proposal in the cohort is open: the hackathon does not propose him too
        await press_again(telegram, ADMIN, *card_button(telegram, "Hackathon", fill_label), lang)
        hackathon_while_open = last_answer(telegram)
        await press(telegram, 2, text(lang, "action_decline"), lang)
        await press_again(telegram, ADMIN, *card_button(telegram, "Hackathon", fill_label), lang)
        in_hackathon = {user: telegram.last_message(user) for user in (1, 3)}
        await press_again(telegram, ADMIN, *card_button(telegram, "Cohort", end_label), lang)
        await say(telegram, 1, "/events", lang)
        one_ended = telegram.last_message(1).text
        await press(telegram, 1, text(lang, "action_accept"), lang)
        await press(telegram, 3, text(lang, "action_accept"), lang)
    assert members_of(url, cohort) == [1, 2] and members_of(url, hackathon) == [1, 3]
    ended = text(lang, "event_card_ended")
    lines = both.splitlines()[1:]
    assert len(lines) == 2 and not any(ended in line for line in lines)
    assert {line.split(" · ")[0] for line in lines} == {"• Cohort", "• Hackathon"}
    assert all("Cohort" in m.text and "Anna" in m.text for m in in_cohort.values())
    assert olga_before == []
    assert hackathon_while_open == text(lang, "event_fill_nobody")
    assert all("Hackathon" in m.text and "Olga" in m.text for m in in_hackathon.values())
    assert all(m.buttons == [text(lang, "action_accept"), text(lang, "action_decline")]
               for m in in_hackathon.values())  # fmt: skip
    cohort_line = next(line for line in one_ended.splitlines() if "Cohort" in line)
    hackathon_line = next(line for line in one_ended.splitlines() if "Hackathon" in line)
    assert cohort_line.endswith(ended) and not hackathon_line.endswith(ended)
    # the team formed in the event where both said yes; the cohort's ending changed nothing
    assert teams_of(url) == [("Hackathon · 1", 3, [1, 3])]


GROUP_CHAT = -1001234567890


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_event_commands_and_buttons_in_a_group_chat_do_nothing_but_point_away(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 1, lang=lang)
    seed(url, 2, lang=lang, skills=("design",), wants=("python",))
    event = make_event(url, "Demo Day", members=(1, 2))
    async with running(settings):
        for words in ("/event new", "/events", "/start ev_demo-day"):
            telegram.send_text(ADMIN, words, language_code=lang, chat_id=GROUP_CHAT)
        await settle(telegram)
        replies = telegram.messages(GROUP_CHAT)
        await fill(telegram, lang)
        proposal = telegram.last_message(1)
        accept = proposal.callback_data(text(lang, "action_accept"))
        pressed = []
        for user, data in (
            (1, f"eva:join:{event}"),
            (ADMIN, f"eva:end:{event}"),
            (ADMIN, f"eva:fill:{event}"),
            (ADMIN, "evd:starts:0"),
            (ADMIN, "evs:4"),
            (1, accept),
        ):
            assert data is not None
            update = telegram.press_button(
                user, proposal.message_id, data, language_code=lang, chat_id=GROUP_CHAT
            )
            await telegram.wait_confirmed(update)
            await settle(telegram)
            pressed.append(last_answer(telegram))
        with connect(url) as conn:
            dialogues = conn.execute("select count(*) as n from fsm_states where state is not null")
            row = dialogues.fetchone()
    assert [m.text for m in replies] == [says(lang, "private_only")] * 3
    urls = [
        button["url"] for m in replies for [button] in (m.reply_markup or {})["inline_keyboard"]
    ]
    assert urls == [
        "https://t.me/teambot_test_bot?start=event",
        "https://t.me/teambot_test_bot?start=events",
        "https://t.me/teambot_test_bot?start=ev_demo-day",
    ]
    assert pressed == [text(lang, "private_only_button")] * 6
    assert row is not None and row["n"] == 0  # no wizard was started
    assert query(url, "select ended_at is null from events") == [(True,)]
    assert query(url, "select answer from event_proposal_members order by user_id") == [
        ("pending",),
        ("pending",),
    ]
    assert teams_of(url) == []


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_forged_and_stale_presses_get_a_short_answer(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 1, lang=lang)
    seed(url, 2, lang=lang, skills=("design",), wants=("python",))
    event = make_event(url, "Demo Day", members=(1, 2))
    ended = make_event(url, "Old", "old-one", ended=True, members=(1, 2))
    stale = text(lang, "stale_button")
    async with running(settings):
        await say(telegram, ADMIN, "/events", lang)
        card, fill_data = card_button(telegram, "Demo Day", text(lang, "action_event_fill"))

        async def forge(user: int, data: str) -> str | None:
            await press_again(telegram, user, card, data, lang)
            return last_answer(telegram)

        # the wizard's buttons outside the wizard, and forged values inside it
        outside = [await forge(ADMIN, data) for data in ("evd:starts:0", "evs:4")]
        await say(telegram, ADMIN, "/event new", lang)
        await say(telegram, ADMIN, "Spring", lang)
        wrong_step = await forge(ADMIN, "evd:ends:0")  # asked for the start
        out_of_range = await forge(ADMIN, "evd:starts:99")
        await press(telegram, ADMIN, text(lang, "event_today"), lang)
        await press(telegram, ADMIN, text(lang, "event_same_day"), lang)
        sizes = [await forge(ADMIN, data) for data in ("evs:1", "evs:999", "evs:x")]
        still_asking = telegram.last_message(ADMIN).text
        # organizers' buttons: unknown events, an ended one, not an organizer
        organizer = [
            await forge(ADMIN, data)
            for data in ("eva:fill:999999", "eva:end:999999", f"eva:fill:{ended}", "eva:x:1")
        ]
        not_admin = await forge(1, fill_data)
        # a proposal: unknown, malformed, someone else's
        await press_again(telegram, ADMIN, card, fill_data, lang)
        proposal = telegram.last_message(1)
        accept = proposal.callback_data(text(lang, "action_accept"))
        assert accept is not None
        proposals = [await forge(1, data) for data in ("evp:accept:999999", "evp:maybe:1")]
        strangers = [await forge(user, accept) for user in (3, ADMIN)]
    assert outside == [stale, stale]
    assert wrong_step == out_of_range == stale
    assert sizes == [stale] * 3
    assert still_asking == says(lang, "event_ask_size", max=50)
    assert organizer == [stale, stale, text(lang, "event_ended_short"), stale]
    assert not_admin == stale
    assert proposals == [stale, stale]
    assert strangers == [stale, stale]
    assert query(url, "select count(*) from events") == [(2,)]  # the wizard made none
    assert query(url, "select ended_at is null from events where id = %s", event) == [(True,)]
    assert query(url, "select answer from event_proposal_members order by user_id") == [
        ("pending",),
        ("pending",),
    ]
    assert teams_of(url) == []


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_ended_event_forms_no_team_and_its_proposals_hold_nobody_back(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    seed(url, 2, lang=lang, name="Anna", skills=("design",), wants=("python",))
    seed(url, 3, lang=lang, name="Olga", skills=("design",), wants=("python",))
    make_event(url, "Cohort", "cohort", members=(1, 2))
    make_event(url, "Hackathon", "hackathon", members=(3, 1))
    fill_label, end_label = text(lang, "action_event_fill"), text(lang, "action_event_end")
    async with running(settings):
        await say(telegram, ADMIN, "/events", lang)
        await press_again(telegram, ADMIN, *card_button(telegram, "Cohort", fill_label), lang)
        await press(telegram, 1, text(lang, "action_accept"), lang)
        await press_again(telegram, ADMIN, *card_button(telegram, "Cohort", end_label), lang)
        annas = telegram.last_message(2)
        await press(telegram, 2, text(lang, "action_accept"), lang)
        refused = last_answer(telegram)
        annas_after = next(m for m in telegram.messages(2) if m.message_id == annas.message_id)
        # Ivan's unanswered group in the ended cohort does not keep him from the hackathon
        await press_again(telegram, ADMIN, *card_button(telegram, "Hackathon", fill_label), lang)
        ivans = telegram.last_message(1)
    assert refused == text(lang, "event_ended_short")
    assert annas_after.buttons == []
    assert teams_of(url) == []
    assert "Hackathon" in ivans.text and "Olga" in ivans.text
    assert ivans.buttons == [text(lang, "action_accept"), text(lang, "action_decline")]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_unanswered_proposal_expires_and_frees_its_people(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = url_of(settings)
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    seed(url, 2, lang=lang, name="Anna", skills=("design",), wants=("python",))
    make_event(url, "Demo Day", members=(1, 2))
    hours = settings.cleanup_expired_invitations_hours  # the invitations' time
    async with running(settings) as app:
        telegram.send_text(ADMIN, "/start", language_code=lang)  # the organizer's language
        await settle(telegram)
        await fill(telegram, lang)
        reported = telegram.last_message(ADMIN)
        ivans, annas = telegram.last_message(1), telegram.last_message(2)
        data = annas.callback_data(text(lang, "action_accept"))
        assert data is not None
        await press(telegram, 1, text(lang, "action_accept"), lang)  # Anna stays silent
        # an hour short of the deadline: still open
        back = "update event_autofills set created_at = now() - interval '{} h'"
        execute(settings, back.format(hours - 1))
        await app.cleanup.run_pass()
        early = query(url, "select status from event_proposals")
        execute(settings, back.format(hours))
        await app.cleanup.run_pass()

        def expiry_shown() -> bool:
            return all(now(telegram, m).buttons == [] for m in (ivans, annas)) and now(
                telegram, reported
            ).text == report(lang, "Demo Day", groups=1, people=2, accepted=1, failed=1)

        await telegram.wait_until(expiry_shown, what="the expiry shown")
        edited = [now(telegram, m).text for m in (ivans, annas)]
        await press_again(telegram, 2, annas.message_id, data, lang)  # a late Accept
        late = last_answer(telegram)
        after_late = teams_of(url)
        await fill(telegram, lang)  # the group dissolved: both may be proposed again
        again = [telegram.last_message(user) for user in (1, 2)]
    assert early == [("pending",)]
    expired = says(lang, "closed_expired")
    assert edited == [ivans.text + "\n\n" + expired, annas.text + "\n\n" + expired]
    assert late == text(lang, "event_proposal_expired")
    assert after_late == []
    for message in again:
        assert message.message_id not in (ivans.message_id, annas.message_id)
        assert "Ivan" in message.text and "Anna" in message.text
        assert message.buttons == [text(lang, "action_accept"), text(lang, "action_decline")]
    statuses = query(url, "select number, status from event_proposals order by id")
    assert statuses == [(1, "expired"), (1, "pending")]
