"""Events, their members, and auto-fill's proposed groups."""

from __future__ import annotations

from datetime import date
from typing import Any

from teambot.adapters.database import Connection
from teambot.domain import EventPerson, EventRow

_COLUMNS = (
    "e.id, e.slug, e.name, e.starts_on, e.ends_on, e.team_size_limit, e.ended_at,"
    " (e.ended_at is null and e.ends_on >= current_date) as open"
)


def _event(row: dict[str, Any] | None) -> EventRow | None:
    return None if row is None else EventRow(**row)


def slugs_like(conn: Connection, base: str) -> set[str]:
    rows = conn.execute(
        "select slug from events where slug = %s or slug like %s", (base, base + "-%")
    ).fetchall()
    return {str(row["slug"]) for row in rows}


def create(
    conn: Connection,
    *,
    slug: str,
    name: str,
    starts_on: date,
    ends_on: date,
    team_size_limit: int | None,
    created_by: int,
) -> EventRow | None:
    """None when the slug was taken meanwhile."""
    return _event(
        conn.execute(
            f"insert into events as e (slug, name, starts_on, ends_on, team_size_limit,"
            f" created_by) values (%s, %s, %s, %s, %s, %s) on conflict (slug) do nothing"
            f" returning {_COLUMNS}",
            (slug, name, starts_on, ends_on, team_size_limit, created_by),
        ).fetchone()
    )


def get(conn: Connection, event_id: int, *, lock: bool = False) -> EventRow | None:
    suffix = " for update" if lock else ""
    return _event(
        conn.execute(
            f"select {_COLUMNS} from events e where e.id = %s{suffix}", (event_id,)
        ).fetchone()
    )


def with_membership(conn: Connection, slug: str, user_id: int) -> tuple[EventRow | None, bool]:
    """The event of a link, and whether `user_id` is in it: one round trip."""
    row = conn.execute(
        f"select {_COLUMNS}, exists(select 1 from event_members m where m.event_id = e.id"
        f" and m.user_id = %s) as member from events e where e.slug = %s",
        (user_id, slug),
    ).fetchone()
    if row is None:
        return None, False
    member = bool(row.pop("member"))
    return EventRow(**row), member


def listing(conn: Connection, limit: int) -> list[EventRow]:
    """The newest events first, each with its member count."""
    rows = conn.execute(
        f"select {_COLUMNS}, (select count(*) from event_members m where m.event_id = e.id)"
        f" as members from events e order by e.id desc limit %s",
        (limit,),
    ).fetchall()
    return [EventRow(**row) for row in rows]


def of_user(conn: Connection, user_id: int) -> list[EventRow]:
    """The events a person is in, the most recently joined first."""
    rows = conn.execute(
        f"select {_COLUMNS} from events e join event_members m on m.event_id = e.id"
        f" where m.user_id = %s order by m.joined_at desc, e.id desc",
        (user_id,),
    ).fetchall()
    return [EventRow(**row) for row in rows]


def end(conn: Connection, event_id: int) -> EventRow | None:
    """None unless it was still running."""
    return _event(
        conn.execute(
            f"update events e set ended_at = now() where e.id = %s and e.ended_at is null"
            f" returning {_COLUMNS}",
            (event_id,),
        ).fetchone()
    )


def add_member(conn: Connection, event_id: int, user_id: int) -> bool:
    """False when they were in it already."""
    cur = conn.execute(
        "insert into event_members (event_id, user_id) values (%s, %s) on conflict do nothing",
        (event_id, user_id),
    )
    return cur.rowcount == 1


# --- auto-fill


def pool(conn: Connection, event_id: int) -> list[EventPerson]:
    """The event's people auto-fill may group, longest in the event first: registered,
    searching, reachable, neither banned nor deleted, with no proposal still open (in an
    event still running: an ended event's unanswered proposals hold nobody back), and
    either in no team or the owner of one (with its member count)."""
    rows = conn.execute(
        "select u.id, u.skills, u.looking_for, u.role_focus, u.wanted_roles, u.want_role,"
        " u.utc_offset, u.want_time_zone, u.time_zone_hours, u.work_mode, u.want_work_mode,"
        " u.languages, u.want_language, t.id as team_id,"
        " (select count(*) from team_members c where c.team_id = t.id) as team_members"
        " from event_members em join users u on u.id = em.user_id"
        " left join team_members tm on tm.user_id = u.id"
        " left join teams t on t.id = tm.team_id and t.owner_id = u.id"
        " where em.event_id = %s and u.registered_at is not null and u.deleted_at is null"
        " and not u.is_banned and u.is_searching and u.unreachable_since is null"
        " and (tm.team_id is null or t.id is not null)"
        " and not exists (select 1 from event_proposal_members pm join event_proposals p"
        " on p.id = pm.proposal_id join event_autofills a on a.id = p.autofill_id"
        " join events pe on pe.id = a.event_id where pm.user_id = u.id"
        " and p.status = 'pending' and pe.ended_at is null and pe.ends_on >= current_date)"
        " order by em.joined_at, u.id",
        (event_id,),
    ).fetchall()
    return [EventPerson(**row) for row in rows]


def start_autofill(
    conn: Connection,
    event_id: int,
    organizer_id: int,
    groups: list[tuple[int | None, list[int]]],
    unplaced: int,
) -> tuple[int, list[int]]:
    """A run and its proposed groups (the team each would join, its members in order):
    the run's id and each group's proposal id, in the order given."""
    row = conn.execute(
        "insert into event_autofills (event_id, organizer_id, unplaced) values (%s, %s, %s)"
        " returning id",
        (event_id, organizer_id, unplaced),
    ).fetchone()
    assert row is not None
    run = int(row["id"])
    rows = conn.execute(
        "insert into event_proposals (autofill_id, number, team_id)"
        " select %s, n, t from unnest(%s::int[], %s::bigint[]) as g(n, t)"
        " order by n returning id, number",
        (run, list(range(1, len(groups) + 1)), [team for team, _ in groups]),
    ).fetchall()
    ids = {int(r["number"]): int(r["id"]) for r in rows}
    proposals = [ids[n] for n in range(1, len(groups) + 1)]
    members = [
        (proposal, person, position)
        for proposal, (_, people) in zip(proposals, groups, strict=True)
        for position, person in enumerate(people)
    ]
    conn.execute(
        "insert into event_proposal_members (proposal_id, user_id, position)"
        " select * from unnest(%s::bigint[], %s::bigint[], %s::smallint[])",
        ([m[0] for m in members], [m[1] for m in members], [m[2] for m in members]),
    )
    return run, proposals


def remember_messages(
    conn: Connection, run: int, report: int | None, shown: list[tuple[int, int, int]]
) -> None:
    """The report's message and each proposal's (proposal, person, message id)."""
    conn.execute("update event_autofills set report_message_id = %s where id = %s", (report, run))
    if shown:
        conn.execute(
            "update event_proposal_members m set message_id = s.message"
            " from unnest(%s::bigint[], %s::bigint[], %s::bigint[]) as s(proposal, person, message)"
            " where m.proposal_id = s.proposal and m.user_id = s.person",
            ([s[0] for s in shown], [s[1] for s in shown], [s[2] for s in shown]),
        )


def lock_proposal(conn: Connection, proposal_id: int) -> dict[str, Any] | None:
    """The proposal (locked until the transaction ends, so answers to one group run one
    after the other) with its run's event and organizer."""
    return conn.execute(
        "select p.id, p.autofill_id, p.number, p.team_id, p.status, a.event_id,"
        " a.organizer_id, a.report_message_id from event_proposals p"
        " join event_autofills a on a.id = p.autofill_id where p.id = %s for update of p",
        (proposal_id,),
    ).fetchone()


def proposal_members(conn: Connection, proposal_id: int) -> list[dict[str, Any]]:
    return conn.execute(
        "select user_id, answer, message_id from event_proposal_members"
        " where proposal_id = %s order by position",
        (proposal_id,),
    ).fetchall()


def set_answer(conn: Connection, proposal_id: int, user_id: int, answer: str) -> None:
    conn.execute(
        "update event_proposal_members set answer = %s where proposal_id = %s and user_id = %s",
        (answer, proposal_id, user_id),
    )


def decide(conn: Connection, proposal_id: int, status: str, team_id: int | None) -> None:
    conn.execute(
        "update event_proposals set status = %s, formed_team = %s, decided_at = now()"
        " where id = %s",
        (status, team_id, proposal_id),
    )


def run_counts(conn: Connection, run: int) -> dict[str, int]:
    """How a run stands: people proposed, their answers (pending: of groups still open),
    and groups formed, failed (expired ones included) and open."""
    row = conn.execute(
        "select count(*) as people,"
        " count(*) filter (where m.answer = 'accepted') as accepted,"
        " count(*) filter (where m.answer = 'declined') as declined,"
        " count(*) filter (where m.answer = 'pending' and p.status = 'pending') as waiting,"
        " count(distinct p.id) as groups,"
        " count(distinct p.id) filter (where p.status = 'formed') as formed,"
        " count(distinct p.id) filter (where p.status in ('failed', 'expired')) as failed,"
        " min(a.unplaced) as unplaced"
        " from event_autofills a join event_proposals p on p.autofill_id = a.id"
        " join event_proposal_members m on m.proposal_id = p.id"
        " where a.id = %s",
        (run,),
    ).fetchone()
    assert row is not None
    return {key: int(value) for key, value in row.items()}


def expire_due(conn: Connection, hours: int, batch: int) -> list[dict[str, Any]]:
    """Mark one batch of groups still open `hours` after their run expired; returns each
    (proposal, its number, its run, event, organizer and report message)."""
    return conn.execute(
        "with due as (select o.id from event_proposals o"
        " join event_autofills r on r.id = o.autofill_id"
        " where o.status = 'pending' and r.created_at <= now() - make_interval(hours => %s)"
        " order by o.id limit %s for update of o skip locked)"
        " update event_proposals p set status = 'expired', decided_at = now()"
        " from due, event_autofills a where p.id = due.id and a.id = p.autofill_id"
        " returning p.id, p.number, p.autofill_id, a.event_id, a.organizer_id,"
        " a.report_message_id",
        (hours, batch),
    ).fetchall()
