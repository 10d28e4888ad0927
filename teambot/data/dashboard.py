"""The dashboard's numbers and exports: everyone, or one event's pool.

A scope is the people counted: everyone not deleted, or the members of one event who are
not deleted. Days are UTC days. "In a team" means in a team of two or more (a team's
account owns its team from registration on, alone at first).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from teambot.adapters.database import Connection

# the two scopes; chosen by the caller's event, never built from input
_EVERYONE = "select * from users where deleted_at is null"
_POOL = (
    "select u.* from event_members e join users u on u.id = e.user_id"
    " where e.event_id = %(event)s and u.deleted_at is null"
)
# members of teams of two or more
_TEAMED = (
    "select user_id from team_members where team_id in"
    " (select team_id from team_members group by team_id having count(*) >= 2)"
)


def _people(event_id: int | None) -> str:
    return _POOL if event_id is not None else _EVERYONE


def events(conn: Connection) -> list[dict[str, Any]]:
    return conn.execute(
        "select id, slug, name, starts_on, ends_on, ended_at from events"
        " order by starts_on desc, id desc"
    ).fetchall()


def event_by_slug(conn: Connection, slug: str) -> dict[str, Any] | None:
    return conn.execute(
        "select id, slug, name, starts_on, ends_on, ended_at from events where slug = %s",
        (slug,),
    ).fetchone()


# For everyone, each stage's set is read whole and joined by hash; for an event's pool (a
# few thousand people), each person is looked up by index. (An `in (subquery)` per stage
# is probed row by row once the set outgrows work_mem.)
_FUNNEL_OF_EVERYONE = f"""
    with people as ({_EVERYONE}),
    searched as (select distinct viewer_id as id from search_cards),
    requested as (select distinct sender_id as id from invitations),
    accepted as (
        select sender_id as id from invitations where status = 'accepted'
        union
        select recipient_id from invitations where status = 'accepted'
    ),
    teamed as ({_TEAMED})
    select count(*) as started, count(p.registered_at) as registered,
        count(s.id) as searched, count(r.id) as requested, count(a.id) as accepted,
        count(t.user_id) as in_team
    from people p
    left join searched s on s.id = p.id
    left join requested r on r.id = p.id
    left join accepted a on a.id = p.id
    left join teamed t on t.user_id = p.id
"""
_FUNNEL_OF_POOL = f"""
    with people as ({_POOL}),
    teamed as ({_TEAMED})
    select count(*) as started, count(p.registered_at) as registered,
        count(*) filter (where exists (select from search_cards s where s.viewer_id = p.id))
            as searched,
        count(*) filter (where exists (select from invitations i where i.sender_id = p.id))
            as requested,
        count(*) filter (where exists (
                select from invitations i where i.sender_id = p.id and i.status = 'accepted')
            or exists (
                select from invitations i where i.recipient_id = p.id and i.status = 'accepted'))
            as accepted,
        count(t.user_id) as in_team
    from people p
    left join teamed t on t.user_id = p.id
"""


def funnel(conn: Connection, event_id: int | None) -> dict[str, int]:
    """People at each stage."""
    query = _FUNNEL_OF_EVERYONE if event_id is None else _FUNNEL_OF_POOL
    row = conn.execute(query, {"event": event_id}).fetchone()
    assert row is not None
    return {key: int(value) for key, value in row.items()}


def registrations_per_day(
    conn: Connection, event_id: int | None, since: date, until: date
) -> dict[date, int]:
    rows = conn.execute(
        f"""
        with people as ({_people(event_id)})
        select (registered_at at time zone 'UTC')::date as day, count(*) as n from people
        where registered_at >= %(since)s::date and registered_at < %(until)s::date + 1
        group by 1
        """,
        {"event": event_id, "since": since, "until": until},
    ).fetchall()
    return {row["day"]: int(row["n"]) for row in rows}


# An event's requests are the ones its members sent.
REQUEST_OUTCOMES = ("sent", "accepted", "declined", "expired")
_ALL_INVITATIONS = "select * from invitations"
_POOL_INVITATIONS = (
    "select i.* from event_members e join invitations i on i.sender_id = e.user_id"
    " where e.event_id = %(event)s"
)


def requests_per_day(
    conn: Connection, event_id: int | None, since: date, until: date
) -> dict[tuple[date, str], int]:
    """(day, what) -> count, what being sent, accepted, declined or expired: each counted on
    the day it happened (sent, answered, ran out)."""
    scope = _POOL_INVITATIONS if event_id is not None else _ALL_INVITATIONS
    # One pass, grouped by the day sent, the outcome and the day it came (a few thousand
    # groups at most), folded here: half the time of a row per event through a lateral
    # join (bench/dashboard.py, 1 000 000 invitations)
    rows = conn.execute(
        f"""
        select (i.created_at at time zone 'UTC')::date as sent_on, i.status,
            (i.ended_at at time zone 'UTC')::date as ended_on, count(*) as n
        from (
            select created_at, status,
                case status when 'expired' then expires_at
                            when 'accepted' then answered_at
                            when 'declined' then answered_at end as ended_at
            from ({scope}) i
        ) i
        where i.created_at >= %(since)s::date or i.ended_at >= %(since)s::date
        group by 1, 2, 3
        """,
        {"event": event_id, "since": since},
    ).fetchall()
    counts: dict[tuple[date, str], int] = {}
    for row in rows:
        for day, what in ((row["sent_on"], "sent"), (row["ended_on"], row["status"])):
            if day is not None and since <= day <= until and what in REQUEST_OUTCOMES:
                counts[day, what] = counts.get((day, what), 0) + int(row["n"])
    return counts


def join_delays_hours(conn: Connection, event_id: int | None) -> list[float]:
    """Hours from registering to joining someone else's team, one per person who did."""
    rows = conn.execute(
        f"""
        with people as ({_people(event_id)})
        select extract(epoch from m.joined_at - p.registered_at) / 3600 as hours
        from people p
        join team_members m on m.user_id = p.id
        join teams t on t.id = m.team_id and t.owner_id <> p.id
        where p.registered_at is not null
        """,
        {"event": event_id},
    ).fetchall()
    return [max(0.0, float(row["hours"])) for row in rows]


def teams_by_size(conn: Connection, event_id: int | None) -> dict[int, int]:
    """size -> teams; an event's teams are those with a member in its pool."""
    pool_filter = (
        "having bool_or(user_id in (select user_id from event_members where event_id = %(event)s))"
        if event_id is not None
        else ""
    )
    rows = conn.execute(
        f"""
        select size, count(*) as teams from (
            select team_id, count(*) as size from team_members group by team_id {pool_filter}
        ) sizes group by size order by size
        """,
        {"event": event_id},
    ).fetchall()
    return {int(row["size"]): int(row["teams"]) for row in rows}


def skills_supply(conn: Connection, event_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Per skill: how many people still looking offer it and how many seek it, where the
    supply is shortest first."""
    rows = conn.execute(
        f"""
        with people as ({_people(event_id)})
        select t.skill, count(*) filter (where t.offered)::int as offered,
            count(*) filter (where not t.offered)::int as sought
        from people p
        cross join lateral (
            select skill, true from unnest(p.skills) skill
            union all
            select skill, false from unnest(p.looking_for) skill
        ) as t (skill, offered)
        where p.registered_at is not null and p.is_searching and not p.is_banned
          and p.id not in ({_TEAMED})
        group by t.skill
        order by count(*) filter (where not t.offered) - count(*) filter (where t.offered) desc,
            count(*) filter (where not t.offered) desc, t.skill
        limit %(limit)s
        """,
        {"event": event_id, "limit": limit},
    ).fetchall()
    return rows


def _visible(u: str) -> str:
    """What a person shows on their card, and their @username only when the bot has given
    it to someone: they are on either side of an accepted invitation (their contact goes
    to the other side then). Nobody's Telegram id. The partial indexes of 0014 answer it."""
    return (
        f"{u}.display_name, case when exists (select from invitations i where i.status ="
        f" 'accepted' and i.sender_id = {u}.id) or exists (select from invitations i where"
        f" i.status = 'accepted' and i.recipient_id = {u}.id) then {u}.username end as username,"
        f" {u}.user_type, {u}.skills, {u}.looking_for, {u}.links"
    )


def still_looking(
    conn: Connection, event_id: int | None, limit: int | None
) -> tuple[int, list[dict[str, Any]]]:
    """People registered and searching, not banned, in no team of two or more: how many,
    and the most recently active of them (`limit`; None: all). For everyone the list walks
    users_search_recent_idx (0006), which has these conditions and this order."""
    looking = f"""
        with people as ({_people(event_id)})
        select {{}} from people p
        where registered_at is not null and is_searching and not is_banned
          and id not in ({_TEAMED})
    """
    params: dict[str, Any] = {"event": event_id, "limit": limit}
    rows = conn.execute(
        looking.format(f"{_visible('p')}, last_active")
        + " order by last_active desc, id"
        + (" limit %(limit)s" if limit is not None else ""),
        params,
    ).fetchall()
    if limit is None or len(rows) < limit:
        return len(rows), rows
    total = conn.execute(looking.format("count(*) as n"), params).fetchone()
    assert total is not None
    return int(total["n"]), rows


def team_members(conn: Connection, event_id: int | None) -> list[dict[str, Any]]:
    """Every member of every team (an event's: teams with a member in its pool), team by
    team, owner first, then in the order they joined; banned people left out."""
    pool_filter = (
        "where t.id in (select m.team_id from team_members m join event_members e"
        " on e.user_id = m.user_id where e.event_id = %(event)s)"
        if event_id is not None
        else ""
    )
    return conn.execute(
        f"""
        select t.name as team, count(*) over (partition by t.id) as size,
               u.id = t.owner_id as owner, {_visible("u")}
        from teams t
        join team_members m on m.team_id = t.id
        join users u on u.id = m.user_id and u.deleted_at is null and not u.is_banned
        {pool_filter}
        order by t.name, t.id, u.id <> t.owner_id, m.joined_at, u.id
        """,
        {"event": event_id},
    ).fetchall()


def use_link(conn: Connection, link_id: str, lifetime_seconds: float) -> bool:
    """Marks a one-time link used; False when it was used before. Marks older than a link
    lives are no longer needed (the signature refuses such a link) and go."""
    conn.execute(
        "delete from dashboard_links_used where used_at < now() - make_interval(secs => %s)",
        (lifetime_seconds * 2,),
    )
    row = conn.execute(
        "insert into dashboard_links_used (link_id) values (%s) on conflict do nothing"
        " returning link_id",
        (link_id,),
    ).fetchone()
    return row is not None


def link_used(conn: Connection, link_id: str) -> bool:
    row = conn.execute(
        "select 1 from dashboard_links_used where link_id = %s", (link_id,)
    ).fetchone()
    return row is not None
