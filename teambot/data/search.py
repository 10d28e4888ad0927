"""The ranked search: one candidate at a time, scored and filtered inside PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

from teambot.adapters.database import Connection


@dataclass(frozen=True)
class Candidate:
    id: int
    user_type: str
    display_name: str
    username: str | None
    skills: list[str]
    looking_for: list[str]
    bio: str
    team_name: str | None
    team_description: str | None
    they_have: list[str]  # what I look for that they have
    they_want: list[str]  # what they look for that I have
    total: int  # how many candidates match altogether


_RANKED = """
with me as (select %(me)s::bigint as id, %(skills)s::text[] as skills, %(wants)s::text[] as wants),
pool as (
    select u.id, u.user_type, u.display_name, u.username, u.skills, u.looking_for, u.bio,
           u.last_active,
           array(select s from unnest(u.skills) with ordinality as t(s, n)
                 where s = any(me.wants) order by n) as they_have,
           array(select s from unnest(u.looking_for) with ordinality as t(s, n)
                 where s = any(me.skills) order by n) as they_want
    from users u, me
    where u.user_type = any(%(types)s::text[])
      and u.is_searching and u.deleted_at is null and not u.is_banned
      and u.registered_at is not null
      and u.id <> me.id
      and (%(skill)s::text is null or u.skills @> array[%(skill)s::text])
      and not exists (select 1 from hidden_users h where h.user_id = me.id and h.hidden_id = u.id)
      and not exists (
          select 1 from invitations i
          where i.status = 'pending'
            and least(i.sender_id, i.recipient_id) = least(me.id, u.id)
            and greatest(i.sender_id, i.recipient_id) = greatest(me.id, u.id))
)
select p.id, p.user_type, p.display_name, p.username, p.skills, p.looking_for, p.bio,
       t.name as team_name, t.description as team_description, p.they_have, p.they_want,
       count(*) over () as total
from pool p left join teams t on t.owner_id = p.id
order by 2 * cardinality(p.they_have) + cardinality(p.they_want) desc, p.last_active desc, p.id
offset %(offset)s limit 1
"""


def ranked(
    conn: Connection,
    *,
    me: int,
    skills: list[str],
    wants: list[str],
    types: list[str],
    skill: str | None,
    offset: int,
) -> Candidate | None:
    row = conn.execute(
        _RANKED,
        {
            "me": me,
            "skills": skills,
            "wants": wants,
            "types": types,
            "skill": skill,
            "offset": offset,
        },
    ).fetchone()
    return None if row is None else Candidate(**row)


def hide(conn: Connection, user_id: int, hidden_id: int) -> None:
    conn.execute(
        "insert into hidden_users (user_id, hidden_id) values (%s, %s) on conflict do nothing",
        (user_id, hidden_id),
    )


def report(conn: Connection, reporter_id: int, reported_id: int) -> bool:
    """True when this is the reporter's first report of that person."""
    cur = conn.execute(
        "insert into reports (reporter_id, reported_id) values (%s, %s) on conflict do nothing",
        (reporter_id, reported_id),
    )
    return cur.rowcount == 1
