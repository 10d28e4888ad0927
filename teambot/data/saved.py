"""Saved profiles (/saved): people a person kept from their search cards, to invite later.

A saved person is named by the saver's card reference (`search_cards`), like every button
of a card: the list's buttons carry that, never a Telegram id. Someone who pauses, is
banned, deletes their account or stops answering the bot is left out of the list, as out
of search (`teambot/data/search.py`); they are back when they are back, and erased with
their account (CASCADE)."""

from __future__ import annotations

from teambot.adapters.database import Connection
from teambot.domain import SavedPerson

_CARD = "select viewer_id, candidate_id from search_cards where id = %(ref)s and viewer_id = %(me)s"


def save(conn: Connection, me: int, ref: int) -> bool | None:
    """Save the person on my card `ref`: True when saved now, False when saved already;
    None for a reference that is not mine."""
    row = conn.execute(
        f"with card as ({_CARD}),"
        " added as (insert into saved_profiles (user_id, saved_id)"
        " select viewer_id, candidate_id from card on conflict do nothing returning saved_id)"
        " select exists(select from card) as mine, exists(select from added) as added",
        {"ref": ref, "me": me},
    ).fetchone()
    assert row is not None
    return bool(row["added"]) if row["mine"] else None


def remove(conn: Connection, me: int, ref: int) -> bool | None:
    """Take the person on my card `ref` off my list: True when removed now, False when not
    on it; None for a reference that is not mine."""
    row = conn.execute(
        f"with card as ({_CARD}),"
        " gone as (delete from saved_profiles s using card"
        " where s.user_id = card.viewer_id and s.saved_id = card.candidate_id returning s.saved_id)"
        " select exists(select from card) as mine, exists(select from gone) as removed",
        {"ref": ref, "me": me},
    ).fetchone()
    assert row is not None
    return bool(row["removed"]) if row["mine"] else None


_LISTED = """
select c.id as ref, u.user_type, u.display_name, u.skills, t.name as team_name,
       count(*) over () as total
from saved_profiles s
join users u on u.id = s.saved_id
join search_cards c on c.viewer_id = s.user_id and c.candidate_id = s.saved_id
left join teams t on t.owner_id = u.id
where s.user_id = %(me)s and u.user_type = any(%(types)s::text[])
  and u.is_searching and u.deleted_at is null and not u.is_banned
  and u.registered_at is not null and u.unreachable_since is null
order by s.saved_at desc, s.saved_id
limit %(limit)s
"""


def listed(
    conn: Connection, me: int, types: list[str], limit: int
) -> tuple[list[SavedPerson], int]:
    """My saved people who can be invited now (of the `types` I see), the latest saved
    first, at most `limit`; and how many there are in all."""
    rows = conn.execute(_LISTED, {"me": me, "types": types, "limit": limit}).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    return [SavedPerson(**{k: v for k, v in row.items() if k != "total"}) for row in rows], total
