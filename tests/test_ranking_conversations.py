"""Ranking through the fake Bot API, in both languages: must-haves both ways, a preference
changed between two searches, the reasons on the card, the quick filters and Next, relaxing
the must-have that leaves out most, an event's pool, and the digest by the same rules.

People are written straight to the database (the wizard that fills the matching fields has
its own tests); everything after that is a conversation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from teambot.config import Settings
from teambot.texts import text
from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram
from tests.test_conversations import settle
from tests.test_teams import connect, seed

pytestmark = pytest.mark.anyio


def fill(url: str, user_id: int, **fields: Any) -> None:
    """Set matching fields and preferences of a person (and how long ago they were active)."""
    ago = fields.pop("days_ago", None)
    with connect(url) as conn:
        columns = ", ".join(f"{name} = %({name})s" for name in fields)
        if columns:
            conn.execute(f"update users set {columns} where id = %(id)s", {**fields, "id": user_id})
        if ago is not None:
            conn.execute(
                "update users set last_active = now() - %s where id = %s",
                (timedelta(days=ago), user_id),
            )


def names(telegram: FakeTelegram, user: int) -> str:
    return telegram.last_message(user).text.splitlines()[0]


async def search(telegram: FakeTelegram, user: int, lang: str, words: str = "/search") -> str:
    telegram.send_text(user, words, language_code=lang)
    await settle(telegram)
    return telegram.last_message(user).text


async def press(telegram: FakeTelegram, user: int, label: str) -> str:
    telegram.press(user, label)
    await settle(telegram)
    return telegram.last_message(user).text


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_conflicting_must_haves_never_see_each_other(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    seed(url, 10, role="team", lang=lang, name="Olga", team="Rocket", wants=("python",))
    seed(url, 11, role="team", lang=lang, name="Petr", team="Comet", wants=("python",))
    # Ivan speaks Russian only; Rocket must have English. Comet has no must-have.
    fill(url, 1, languages=["ru"])
    fill(url, 10, languages=["en"], want_language=2)
    fill(url, 11, languages=["en"])
    async with running(settings):
        ivan = await search(telegram, 1, lang)
        ivan_next = await press(telegram, 1, text(lang, "action_next"))
        rocket = await search(telegram, 10, lang)
        # now the other way: Ivan must have Russian, Comet does not speak it
        fill(url, 10, want_language=0)
        fill(url, 1, want_language=2)
        ivan_again = await search(telegram, 1, lang)
        comet = await search(telegram, 11, lang)
    assert ivan.startswith("Petr") and "Olga" not in ivan + ivan_next
    assert rocket.startswith(text(lang, "search_empty"))
    assert ivan_again.startswith(text(lang, "search_empty"))
    assert comet.startswith(text(lang, "search_empty"))  # Ivan's must-have leaves Comet out


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_changed_preference_changes_the_next_search_and_the_reasons_say_why(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    seed(url, 10, role="team", lang=lang, name="Olga", team="Rocket", wants=("python",))
    seed(url, 11, role="team", lang=lang, name="Petr", team="Comet", wants=("sales",))
    mine = {"hours_per_week": "full_time", "utc_offset": 180, "role_focus": "design"}
    fill(url, 1, **mine, want_commitment=1, want_time_zone=1, time_zone_hours=2)
    # Rocket: the tags and a role it needs; Comet: both full time, one hour apart
    fill(url, 10, role_focus="technical", wanted_roles=["design"], want_role=1, days_ago=0)
    fill(url, 11, hours_per_week="full_time", utc_offset=120, days_ago=1)
    async with running(settings):
        first = await search(telegram, 1, lang)
        second = await press(telegram, 1, text(lang, "action_next"))
        fill(url, 1, want_commitment=0, want_time_zone=0)  # no longer cares
        again = await search(telegram, 1, lang)
    # Comet fits two nice-to-haves (4) against Rocket's tag match (2) and its need (0)
    assert first.startswith("Petr")
    both = text(lang, "reason_both_hours", band=text(lang, "rank_band", band="h_full_time"))
    assert both in first
    assert text(lang, "reason_time_zone", hours=1) in first
    assert second.startswith("Olga")
    assert text(lang, "why_they_want", tags="python") in second
    assert text(lang, "reason_needs_you", role="design") in second
    assert again.startswith("Olga")  # tags alone now: Rocket first
    assert text(lang, "reason_needs_you", role="design") in again


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_quick_filters_narrow_and_next_keeps_them(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    teams = {10: ("technical", "remote", 0), 11: ("product", "on_site", 1)}
    teams |= {12: ("technical", "either", 2), 13: ("design", "remote", 3)}
    for user_id, (role, mode, days) in teams.items():
        seed(url, user_id, role="team", lang=lang, name=f"T{user_id}", wants=("python",))
        fill(url, user_id, role_focus=role, work_mode=mode, days_ago=days)
    async with running(settings):
        await search(telegram, 1, lang)
        everyone = [names(telegram, 1)]
        for _ in range(3):
            await press(telegram, 1, text(lang, "action_next"))
            everyone.append(names(telegram, 1))
        await press(telegram, 1, text(lang, "rank_filter_remote", on="no"))
        remote = [names(telegram, 1)]
        for _ in range(2):
            await press(telegram, 1, text(lang, "action_next"))
            remote.append(names(telegram, 1))
        await press(telegram, 1, text(lang, "rank_filter_role", role="any"))  # technical
        both = [names(telegram, 1)]
        await press(telegram, 1, text(lang, "action_next"))
        both.append(names(telegram, 1))
        buttons = telegram.last_message(1).buttons
        await press(telegram, 1, text(lang, "rank_filter_role", role="technical"))  # product
        product = await press(telegram, 1, text(lang, "rank_filter_remote", on="yes"))
    assert [name.split(" · ")[0] for name in everyone] == ["T10", "T11", "T12", "T13"]
    assert [name.split(" · ")[0] for name in remote] == ["T10", "T12", "T13"]
    assert [name.split(" · ")[0] for name in both] == ["T10", "T12"]
    assert text(lang, "rank_filter_role", role="technical") in buttons
    assert text(lang, "rank_filter_remote", on="yes") in buttons
    assert product.startswith("T11")


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_relax_searches_once_without_the_must_have_that_leaves_out_most(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    for user_id in (10, 11, 12):
        seed(url, user_id, role="team", lang=lang, name=f"T{user_id}", wants=("python",))
        fill(url, user_id, languages=["en"], days_ago=user_id - 10)
    fill(url, 10, hours_per_week="full_time")  # fits Ivan's commitment; no team speaks ru
    fill(url, 1, hours_per_week="20_40", want_commitment=2, languages=["ru"], want_language=2)
    async with running(settings):
        empty = await search(telegram, 1, lang)
        buttons = telegram.last_message(1).buttons
        relaxed = await press(telegram, 1, text(lang, "rank_relax"))
        second = await press(telegram, 1, text(lang, "action_next"))
        again = await search(telegram, 1, lang)
    assert text(lang, "rank_blocker", criterion="language") in empty  # all three
    assert buttons == [text(lang, "rank_relax")]
    assert relaxed.startswith(text(lang, "rank_relaxed", criterion="language"))
    assert "\n\nT10" in relaxed  # still a must-have: commitment (T10 only)
    assert second == relaxed  # the only one: Next stays (the search goes on relaxed)
    assert again.startswith(text(lang, "search_empty"))  # once: a new /search has it back


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_events_pool_by_default_and_everyone_at_a_press(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1, lang=lang, name="Ivan", skills=("python",), wants=("design",))
    for user_id in (10, 11, 12):
        seed(url, user_id, role="team", lang=lang, name=f"T{user_id}", wants=("python",))
        fill(url, user_id, days_ago=user_id - 10)
    with connect(url) as conn:
        conn.execute(
            "insert into events (slug, name, starts_on, ends_on, ended_at) values"
            " ('demo-day', 'Demo Day', current_date - 1, current_date + 1, null),"
            " ('old-hack', 'Old Hack', current_date - 9, current_date - 2, null),"
            " ('stopped', 'Stopped', current_date - 1, current_date + 5, now())"
        )
        conn.execute(
            "insert into event_members (event_id, user_id, joined_at)"
            " select e.id, m.user_id, now() - m.ago * interval '1 hour' from events e"
            " join (values ('demo-day', 1, 5), ('demo-day', 11, 1), ('old-hack', 1, 1),"
            "              ('old-hack', 10, 1), ('stopped', 1, 0), ('stopped', 12, 0))"
            " as m(slug, user_id, ago) on m.slug = e.slug"
        )
    async with running(settings):
        pool = await search(telegram, 1, lang)
        buttons = telegram.last_message(1).buttons
        end = telegram.press(1, text(lang, "action_next"))
        await settle(telegram)
        everyone = await press(telegram, 1, text(lang, "rank_scope_everyone"))
        seen = [everyone.splitlines()[0]]
        for _ in range(2):
            seen.append((await press(telegram, 1, text(lang, "action_next"))).splitlines()[0])
        back = await press(telegram, 1, text(lang, "rank_scope_event", event="Demo Day"))
    # Demo Day: running, joined before the others (the ended ones do not count)
    assert pool.startswith("T11")
    assert text(lang, "rank_in_event", event="Demo Day") in pool
    assert text(lang, "rank_scope_everyone") in buttons
    assert end
    assert [line.split(" · ")[0] for line in seen] == ["T10", "T11", "T12"]
    assert text(lang, "rank_in_event", event="Demo Day") not in everyone
    assert back.startswith("T11") and text(lang, "rank_in_event", event="Demo Day") in back


async def test_the_digest_keeps_to_must_haves_and_the_events_pool(
    telegram: FakeTelegram, database_url: str
) -> None:
    from tests.test_conversations import register
    from tests.test_matcher import quiet

    settings = make_settings(telegram, database_url, digest_delay_seconds=0.2)
    url = settings.database_conninfo() or ""
    seed(url, 10, role="team", name="Rocket", wants=("python",))
    seed(url, 11, role="team", name="Comet", wants=("python",))
    seed(url, 12, role="team", name="Event team", wants=("python",))
    fill(url, 10, want_language=2, languages=["de"])  # must have German
    with connect(url) as conn:
        conn.execute(
            "insert into events (slug, name, starts_on, ends_on)"
            " values ('hack', 'Hack', current_date, current_date + 2)"
        )
        conn.execute("insert into event_members (event_id, user_id) select id, 12 from events")
    async with running(settings):
        before = {user: len(telegram.messages(user)) for user in (10, 11, 12)}
        await register(telegram, 1, role="participant", skills="python", wants="design")
        await telegram.wait_for_messages(11, before[11] + 1)
        await quiet(telegram)
        after = {user: len(telegram.messages(user)) for user in (10, 11, 12)}
    # Comet hears of the newcomer; Rocket's must-have and the event's pool keep them quiet
    assert after == {10: before[10], 11: before[11] + 1, 12: before[12]}
