"""The dashboard's numbers and exports: everyone, or one event's pool.

A scope is the people counted: everyone not deleted, or the members of one event who are
not deleted. Days are UTC days. "In a team" means in a team of two or more (a team's
account owns its team from registration on, alone at first).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from teambot.adapters.database import Connection


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


def fold(conn: Connection) -> int:
    """Moves the figures' differences the triggers of 0021 wrote (dashboard_deltas) into
    dashboard_counts: one pass over what changed since the last fold. Concurrent folds
    each move what they took (a row deleted by one is skipped by the other). Returns the
    figures changed."""
    return conn.execute(
        """
        with moved as (delete from dashboard_deltas returning scope, day, what, n)
        insert into dashboard_counts (scope, day, what, n)
        select scope, day, what, sum(n) from moved group by 1, 2, 3 order by 1, 3, 2
        on conflict (scope, what, day) do update set n = dashboard_counts.n + excluded.n
        """
    ).rowcount


def figures(
    conn: Connection, event_id: int | None, since: date
) -> dict[tuple[date | None, str], int]:
    """(day, what) -> count for everyone or an event's pool, as 0021's triggers keep them:
    totals (day None) and the days from `since` on. What: the funnel's stages (started,
    registered, searched, requested, accepted, in_team), looking, delay:<bucket>,
    offered:<skill> and sought:<skill> (people still looking), team_size:<n> (teams of
    n members; everyone's only), and per day registered,
    sent, accepted, declined, expired. Read after `fold`, with the differences written
    since (so exact as of this statement)."""
    rows = conn.execute(
        """
        select nullif(day, '-infinity') as day, what, sum(n) as n from (
            select day, what, n from dashboard_counts
            where scope = %(scope)s and (day = '-infinity' or day >= %(since)s)
            union all
            select day, what, n from dashboard_deltas
            where scope = %(scope)s and (day = '-infinity' or day >= %(since)s)
        ) f
        group by day, what having sum(n) <> 0
        """,
        {"scope": event_id or 0, "since": since},
    ).fetchall()
    return {(row["day"], row["what"]): int(row["n"]) for row in rows}


def differences(conn: Connection) -> list[dict[str, Any]]:
    """Where the kept figures (and people's rows) differ from counting every row again
    (dashboard_recount, dashboard_people_now of 0021): nothing, unless something changed
    the tables without their triggers. For the tests and bench/dashboard.py --check: a full
    pass over the tables (seconds at 1 000 000 invitations)."""
    return conn.execute(
        """
        with kept as (
            select scope, day, what, sum(n) as n
            from (select * from dashboard_counts union all select * from dashboard_deltas) f
            group by 1, 2, 3 having sum(n) <> 0
        ),
        fresh as (select scope, day, what, sum(n) as n from dashboard_recount() group by 1, 2, 3)
        (select 'kept' as side, scope, day::text, what, n from kept
         except select 'kept', scope, day::text, what, n from fresh)
        union all
        (select 'recounted', scope, day::text, what, n from fresh
         except select 'recounted', scope, day::text, what, n from kept)
        union all
        select 'person', p.user_id, null, null, null from (
            (select * from dashboard_people except select * from dashboard_people_now)
            union all
            (select * from dashboard_people_now except select * from dashboard_people)
        ) p
        """
    ).fetchall()


# the kinds of figures per day
REQUEST_OUTCOMES = ("sent", "accepted", "declined", "expired")


def teams_by_size(conn: Connection, event_id: int) -> dict[int, int]:
    """size -> teams with a member in the event's pool (found from the pool, each counted
    by its index). Everyone's are a kept figure (team_size:<n>)."""
    rows = conn.execute(
        """
        select size, count(*) as teams from (
            select (select count(*) from team_members x where x.team_id = t.team_id) as size
            from (select distinct m.team_id from event_members e
                  join team_members m on m.user_id = e.user_id where e.event_id = %(event)s) t
        ) sizes group by size order by size
        """,
        {"event": event_id},
    ).fetchall()
    return {int(row["size"]): int(row["teams"]) for row in rows}


def _visible(u: str, g: str) -> str:
    """What a person shows on their card, and their @username only when the bot has given
    it to someone: they are on either side of an accepted invitation (their contact goes
    to the other side then; `g`, their dashboard_people row, says so). Nobody's Telegram
    id."""
    return (
        f"{u}.display_name, case when {g}.accepted then {u}.username end as username,"
        f" {u}.user_type, {u}.skills, {u}.looking_for, {u}.links"
    )


_LOOKING = """
    from {scope} join dashboard_people g on g.user_id = u.id
    where u.deleted_at is null and u.registered_at is not null and u.is_searching
      and not u.is_banned and not g.in_team
    order by u.last_active desc, u.id
"""


def _scope(event_id: int | None) -> str:
    if event_id is None:
        return "users u"
    return "event_members e join users u on u.id = e.user_id and e.event_id = %(event)s"


def still_looking(conn: Connection, event_id: int | None, limit: int) -> list[dict[str, Any]]:
    """People registered and searching, not banned, in no team of two or more, the `limit`
    most recently active (how many in all is a figure, `looking`). For everyone the list
    walks users_search_recent_idx (0006), which has these conditions and this order, and
    looks each one's dashboard_people row up."""
    return conn.execute(
        f"select {_visible('u', 'g')}, u.last_active"
        + _LOOKING.format(scope=_scope(event_id))
        + " limit %(limit)s",
        {"event": event_id, "limit": limit},
    ).fetchall()


# The CSV exports are written by PostgreSQL (COPY ... CSV): tens of thousands of rows
# through Python rows took seconds (bench/dashboard.py). The cells as a spreadsheet should
# take them: lists joined, the type a fixed word, and a cell that starts like a formula
# prefixed with ' (OWASP's CSV injection advice). The header in English, for scripts.
def _cell(value: str) -> str:
    return (
        f"case when left({value}, 1) in ('=', '+', '-', '@', chr(9), chr(13))"
        f" then chr(39) || {value} else {value} end"
    )


_CSV_PERSON = ", ".join(
    (
        f"{_cell('u.display_name')} as name",
        f"{_cell('case when g.accepted then u.username end')} as username",
        "case u.user_type when 'participant' then 'participant'"
        " when 'cofounder' then 'co-founder' when 'team' then 'team' end as type",
        _cell("array_to_string(u.skills, ', ')") + " as skills",
        _cell("array_to_string(u.looking_for, ', ')") + " as looking_for",
        _cell("array_to_string(u.links, ' ')") + " as links",
    )
)


def _copy(conn: Connection, query: str, event_id: int | None) -> bytes:
    conn.execute("set local work_mem = '64MB'")  # the sort in memory
    out = bytearray()
    with conn.cursor().copy(
        f"copy ({query}) to stdout with (format csv, header true)", {"event": event_id}
    ) as copy:
        for chunk in copy:
            out += chunk
    return bytes(out)


def looking_csv(conn: Connection, event_id: int | None) -> bytes:
    """Everyone still looking, as CSV: name, username, type, skills, looking_for, links."""
    return _copy(conn, f"select {_CSV_PERSON}" + _LOOKING.format(scope=_scope(event_id)), event_id)


def teams_csv(conn: Connection, event_id: int | None) -> bytes:
    """Every member of every team (an event's: teams with a member in its pool), team by
    team, owner first, then in the order they joined; banned people left out. CSV: team,
    team_size, role (owner, member), then looking_csv's columns."""
    pool_filter = (
        "where t.id in (select m.team_id from team_members m join event_members e"
        " on e.user_id = m.user_id where e.event_id = %(event)s)"
        if event_id is not None
        else ""
    )
    query = f"""
        select {_cell("t.name")} as team, count(*) over (partition by t.id) as team_size,
               case when u.id = t.owner_id then 'owner' else 'member' end as role,
               {_CSV_PERSON}
        from teams t
        join team_members m on m.team_id = t.id
        join users u on u.id = m.user_id and u.deleted_at is null and not u.is_banned
        join dashboard_people g on g.user_id = u.id
        {pool_filter}
        order by t.name, t.id, u.id <> t.owner_id, m.joined_at, u.id
    """
    return _copy(conn, query, event_id)


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
