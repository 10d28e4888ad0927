"""The ranked search: one candidate at a time, scored and filtered inside PostgreSQL.

Candidates come in the order score desc, last active desc, id, where score = 2 × |their
skills ∩ my wants| + |their wants ∩ my skills| (tags as sets). Scoring every visible
candidate costs a heap visit each (hundreds of milliseconds at 100 000 users), so the order
is put together level by level, each through an index, only as far as the offset reaches:

- score 3 and up needs two of my tags or more to match: those candidates are few, found in
  the GIN index over (skills, looking_for) as pairs of matches, and ranked exactly;
- score 2 (one of my wants, or two of my skills), score 1 (one of my skills) and score 0
  (no overlap): each level in recency order, from a walk down `users_search_recent_idx`
  bounded to the most recently active, or, when that falls short, from the GIN index;
- with a skill filter, everyone overlapping that has the skill is ranked at once from the
  GIN index (few enough), then score 0 as above.

Left out, read once per search into arrays: the people I hid, those I have a pending
invitation with either way (they are in /invitations, not new), my own team and its members.
The total is counted exactly up to a cap (500, or the next multiple of 500 past the offset).

The buttons under a card name it by a reference of mine (`search_cards`), never by the
person's Telegram id.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from teambot.adapters.database import Connection
from teambot.domain import Candidate, CardTarget

TOTAL_CAP: Final = 500
# how many of the most recently active a level walk looks at before it ranks the level whole
WALK: Final = 2000
WALK_PER_PLACE: Final = 20


_EXCLUDED = """
select array(select hidden_id from hidden_users where user_id = %(me)s) as hidden,
       array(select recipient_id from invitations where sender_id = %(me)s and status = 'pending'
             union all
             select sender_id from invitations where recipient_id = %(me)s and status = 'pending'
       ) as pending,
       array(select mate.user_id from team_members mine
             join team_members mate on mate.team_id = mine.team_id
             where mine.user_id = %(me)s) as team,
       exists(select from search_cards where id = %(ref)s and viewer_id = %(me)s) as ref_mine
"""


@dataclass(frozen=True)
class LeftOut:
    hidden: list[int]
    pending: list[int]  # a pending invitation either way
    team: list[int]  # my team: its owner (the team's card) and its members, me among them

    @property
    def all(self) -> list[int]:
        return [*self.hidden, *self.pending, *self.team]


class ForeignCard(Exception):
    """The card reference a press carried is not one of the viewer's (forged, or not theirs)."""


def left_out(conn: Connection, me: int, shown_ref: int | None = None) -> LeftOut:
    """Who my search leaves out; with `shown_ref` (the card a press came from), ForeignCard
    unless it is one of mine, checked in the same round trip."""
    row = conn.execute(_EXCLUDED, {"me": me, "ref": shown_ref}).fetchone()
    assert row is not None
    if shown_ref is not None and not row["ref_mine"]:
        raise ForeignCard(shown_ref)
    return LeftOut(hidden=row["hidden"], pending=row["pending"], team=row["team"])


# the predicate of users_search_recent_idx
_RECENT = (
    "u.is_searching and u.deleted_at is null and not u.is_banned and u.registered_at is not null"
)


def _visible(skill: bool) -> str:
    """Who may be shown at all: searching, registered, of a type I see, not left out."""
    return (
        f"u.user_type = any(%(types)s::text[]) and {_RECENT}"
        " and u.unreachable_since is null"  # Telegram refused our last message to them
        " and u.id <> all(%(excluded)s::bigint[])"
        + (" and u.skills @> array[%(skill)s::text]" if skill else "")
    )


def _tags(prefix: str, indexes: range) -> str:
    return "array[" + ", ".join(f"%({prefix}{i})s::text" for i in indexes) + "]"


def _score(wants: int, skills: int) -> str:
    """2 per want of mine among their skills + 1 per skill of mine among their wants."""
    have = " + ".join(f"(%(w{i})s::text = any(u.skills))::int" for i in range(wants))
    want = " + ".join(f"(%(s{i})s::text = any(u.looking_for))::int" for i in range(skills))
    return " + ".join(part for part in (f"2 * ({have})" if have else "", want) if part) or "0"


def _overlaps(wants: int, skills: int) -> list[str]:
    """GIN conditions: they have one of my wants; they want one of my skills."""
    found = []
    if wants:
        found.append(f"u.skills && {_tags('w', range(wants))}")
    if skills:
        found.append(f"u.looking_for && {_tags('s', range(skills))}")
    return found


def _two_matches(wants: int, skills: int) -> str:
    """GIN conditions for "at least two of my tags match": each tag and any later one."""
    terms = []
    for i in range(wants):
        later = []
        if i + 1 < wants:
            later.append(f"u.skills && {_tags('w', range(i + 1, wants))}")
        if skills:
            later.append(f"u.looking_for && {_tags('s', range(skills))}")
        if later:
            terms.append(f"(u.skills @> array[%(w{i})s::text] and ({' or '.join(later)}))")
    for i in range(skills - 1):
        terms.append(
            f"(u.looking_for @> array[%(s{i})s::text]"
            f" and u.looking_for && {_tags('s', range(i + 1, skills))})"
        )
    return " or ".join(terms)


def _whole(visible: str, score: str, condition: str, test: str) -> str:
    """Rank a set from the GIN index exactly: its first pos + 1, each with the set's size
    (a bounded sort: only the first pos + 1 are kept in order)."""
    return f"""
        select id, count(*) over () as n from (
            select u.id, u.last_active, {score} as score from users u
            where {visible} and ({condition})) d
        where {test}
        order by score desc, last_active desc, id
        limit %(pos)s + 1"""


@lru_cache(maxsize=512)
def queries(wants: int, skills: int, skill: bool) -> dict[str, str]:
    """The statements for one shape of search: how many wants and skills I have (each tag
    is a parameter of its own), with or without a skill filter."""
    visible = _visible(skill)
    score = _score(wants, skills)
    # the card, and how many there are up to the cap (or one more): the most recently
    # active (users_search_recent_idx rather than a scan of users that would read them
    # all when few are searching), or, with a skill, from the GIN index
    found = {
        # the card, and the reference its buttons carry (made on first showing: `made`
        # returns it then, the select after it every time after)
        "card": f"""
            with made as (
                insert into search_cards (viewer_id, candidate_id) values (%(me)s, %(id)s)
                on conflict (viewer_id, candidate_id) do nothing returning id)
            select (select id from made union all
                    select id from search_cards where viewer_id = %(me)s and candidate_id = %(id)s
                    limit 1) as ref,
                   c.id, c.user_type, c.display_name, c.username, c.skills, c.looking_for,
                   c.bio, c.links, t.name as team_name, t.description as team_description,
                   array(select s from unnest(c.skills) with ordinality as x(s, n)
                         where s = any(%(wants)s::text[]) order by n) as they_have,
                   array(select s from unnest(c.looking_for) with ordinality as x(s, n)
                         where s = any(%(skills)s::text[]) order by n) as they_want,
                   (select count(*) from (select from users u where {visible}
                                          {"" if skill else "order by u.last_active desc"}
                                          limit %(cap)s + 1) x) as total
            from users c left join teams t on t.owner_id = c.id
            where c.id = %(id)s"""
    }
    pairs = _two_matches(wants, skills)
    if pairs and 2 * wants + skills >= 3:
        found["high"] = _whole(visible, score, pairs, "score >= 3")
    overlaps = _overlaps(wants, skills)
    if overlaps:
        found["overlap"] = _whole(visible, score, " or ".join(overlaps), "true")
    levels = {
        "level2": (" or ".join(overlaps) if wants or skills > 1 else "", 2),
        "level1": (overlaps[-1] if skills else "", 1),
        "level0": (" and ".join(f"not ({overlap})" for overlap in overlaps) or "true", 0),
    }
    for name, (condition, level) in levels.items():
        if not condition:
            continue
        test = f"({condition})" + (f" and {score} = {level}" if level else "")
        # The first pos + 1 of the level, most recently active first. The planner cannot
        # tell how many of the searching users a skill, the GIN conditions and the score
        # leave (tags go together), and a walk it expects to stop early reads everyone
        # when the level turns out empty. So the walk is bounded: it looks at the `scan`
        # most recently active only (users_search_recent_idx). When it falls short, the
        # level is rare among them, and the second form takes it from the GIN index and
        # sorts it (the planner's guess of 0.5 % for the score test leans it that way).
        found[f"{name}_walk"] = f"""
            select id from (
                select u.id, {visible} and {test} as hit from users u
                where {_RECENT}
                order by u.last_active desc, u.id limit %(scan)s) x
            where hit limit %(pos)s + 1"""
        found[name] = f"""
            select u.id from users u
            where {visible} and {test}
            order by u.last_active desc, u.id
            limit %(pos)s + 1"""
    return found


def ranked(
    conn: Connection,
    *,
    me: int,
    skills: list[str],
    wants: list[str],
    types: list[str],
    skill: str | None,
    offset: int,
    shown_ref: int | None = None,
) -> Candidate | None:
    """The candidate at `offset` of my ranking, with the reference my card's buttons carry
    (made on first showing); `shown_ref`: see `left_out`."""
    skills, wants = list(dict.fromkeys(skills)), list(dict.fromkeys(wants))
    statements = queries(len(wants), len(skills), skill is not None)
    excluded = [*left_out(conn, me, shown_ref).all, me]
    params = parameters(skills=skills, wants=wants, types=types, skill=skill, excluded=excluded)

    def run(name: str, **extra: Any) -> list[dict[str, Any]]:
        # planned with the values every time: a generic plan cannot tell a rare tag from a
        # common one, which decides between the GIN index and the recency walk
        return conn.execute(statements[name], {**params, **extra}, prepare=False).fetchall()

    steps: tuple[str, ...]
    if skill is None:
        steps = ("high", "level2", "level1", "level0")
    elif skill in wants:  # everyone left has one of my wants: score 2 or more
        steps = ("overlap",)
    else:  # the skill leaves few enough overlapping to rank them all at once
        steps = ("overlap", "level0")
    pos = offset  # the place still to go, within the levels not yet passed
    found: int | None = None
    for name in (step for step in steps if step in statements):
        rows: list[dict[str, Any]] = []
        if f"{name}_walk" in statements:
            rows = run(f"{name}_walk", pos=pos, scan=WALK + WALK_PER_PLACE * pos)
        if len(rows) <= pos:  # no walk, or it fell short: the level whole
            rows = run(name, pos=pos)
        if len(rows) > pos:
            found = rows[pos]["id"]
            break
        # passed: the level's size (a level walked whole has fewer than pos + 1)
        pos -= rows[0]["n"] if rows and "n" in rows[0] else len(rows)
    if found is None:
        return None
    cap = TOTAL_CAP * (offset // TOTAL_CAP + 1)
    cards = run("card", id=found, cap=cap, wants=wants, skills=skills, me=me)
    if not cards:
        return None
    card = cards[0]
    return Candidate(**{**card, "total": min(card["total"], cap), "more": card["total"] > cap})


def parameters(
    *, skills: list[str], wants: list[str], types: list[str], skill: str | None, excluded: list[int]
) -> dict[str, Any]:
    """The values the statements of `queries` share (each of them adds its own)."""
    return {
        "types": types,
        "skill": skill,
        "excluded": excluded,
        **{f"w{i}": tag for i, tag in enumerate(wants)},
        **{f"s{i}": tag for i, tag in enumerate(skills)},
    }


def count_left_out_sql(skill: bool) -> str:
    """Of the visible (`_visible`: the same rule as the ranking), those I hid or have a
    pending invitation with; `excluded` holds only my team and me here."""
    return f"""
        select count(*) filter (where u.id = any(%(hidden)s::bigint[])) as hidden,
               count(*) filter (where u.id <> all(%(hidden)s::bigint[])) as pending
        from users u
        where u.id = any(%(left_out)s::bigint[]) and {_visible(skill)}"""


def count_left_out(
    conn: Connection, *, me: int, types: list[str], skill: str | None
) -> tuple[int, int]:
    """Of those the search would show but leaves out: how many I hid, and how many have a
    pending invitation with me (someone both counts as hidden)."""
    mine = left_out(conn, me)
    row = conn.execute(
        count_left_out_sql(skill is not None),
        {
            "hidden": mine.hidden,
            "left_out": mine.hidden + mine.pending,
            "excluded": [*mine.team, me],
            "types": types,
            "skill": skill,
        },
    ).fetchone()
    assert row is not None
    return int(row["hidden"]), int(row["pending"])


_CARD_TARGET = """
select c.candidate_id as id,
       (u.is_searching and u.deleted_at is null and not u.is_banned
        and u.registered_at is not null) as available,
       exists(select 1 from invitations i where i.status = 'pending'
              and least(i.sender_id, i.recipient_id) = least(c.viewer_id, c.candidate_id)
              and greatest(i.sender_id, i.recipient_id) = greatest(c.viewer_id, c.candidate_id)
       ) as pending,
       exists(select 1 from team_members mine
              join team_members theirs on theirs.team_id = mine.team_id
              where mine.user_id = c.viewer_id and theirs.user_id = c.candidate_id) as teammate
from search_cards c join users u on u.id = c.candidate_id
where c.id = %(ref)s and c.viewer_id = %(viewer)s
"""


def card_target(conn: Connection, viewer: int, ref: int) -> CardTarget | None:
    """None unless `ref` is one of the viewer's own card references."""
    row = conn.execute(_CARD_TARGET, {"ref": ref, "viewer": viewer}).fetchone()
    return None if row is None else CardTarget(**row)


def hide(conn: Connection, viewer: int, ref: int) -> int | None:
    """Hide the person on one of the viewer's cards; their id, or None for a reference that
    is not the viewer's."""
    row = conn.execute(
        "insert into hidden_users (user_id, hidden_id)"
        " select viewer_id, candidate_id from search_cards where id = %s and viewer_id = %s"
        " on conflict (user_id, hidden_id) do update set hidden_id = excluded.hidden_id"
        " returning hidden_id",
        (ref, viewer),
    ).fetchone()
    return None if row is None else int(row["hidden_id"])


def report(conn: Connection, viewer: int, ref: int) -> tuple[int, bool] | None:
    """Report (and hide) the person on one of the viewer's cards: their id, and whether this
    is the viewer's first report of them; None for a reference that is not the viewer's."""
    reported = hide(conn, viewer, ref)
    if reported is None:
        return None
    cur = conn.execute(
        "insert into reports (reporter_id, reported_id) values (%s, %s) on conflict do nothing",
        (viewer, reported),
    )
    return reported, cur.rowcount == 1
