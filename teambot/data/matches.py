"""Digests of new matches: who should hear that someone new matches them (by the search's
rules: only newcomers who fit their must-haves and whose must-haves they fit, from their
current event's pool while they are in one)."""

from __future__ import annotations

from dataclasses import dataclass

from teambot.adapters.database import Connection
from teambot.data.search import must_haves_met


@dataclass(frozen=True)
class Digest:
    user_id: int
    language: str
    new_matches: dict[str, int]  # user_type of the new matches -> how many


_DIGESTS = f"""
with changed as (
    select * from users
    where id = any(%(changed)s) and is_searching and deleted_at is null and not is_banned
      and registered_at is not null
),
pairs as (
    -- r would find c in /search, and c has something r looks for
    select r.id as recipient, c.user_type as match_type
    from changed c
    join users r on r.looking_for && c.skills
    -- r's current event (the most recently joined that has not ended): its pool only
    left join lateral (
        select m.event_id from event_members m join events e on e.id = m.event_id
        where m.user_id = r.id and e.ended_at is null and e.ends_on >= current_date
        order by m.joined_at desc, e.id desc limit 1) cur on true
    where r.is_searching and r.deleted_at is null and not r.is_banned
      and r.registered_at is not null
      and r.id <> c.id
      and r.id <> all(%(changed)s)
      and (r.user_type || ':' || c.user_type) = any(%(visible)s)
      and (r.digest_sent_at is null or r.digest_sent_at < now() - interval '1 day')
      -- the search's rules: each fits the other's must-haves, and r's event's pool
      and {must_haves_met("r", "c")} and {must_haves_met("c", "r")}
      and (cur.event_id is null or exists (
          select 1 from event_members m where m.event_id = cur.event_id and m.user_id = c.id))
      and not exists (
          select 1 from hidden_users h where h.user_id = r.id and h.hidden_id = c.id)
      and not exists (
          select 1 from invitations i
          where i.status = 'pending'
            and least(i.sender_id, i.recipient_id) = least(r.id, c.id)
            and greatest(i.sender_id, i.recipient_id) = greatest(r.id, c.id))
      -- /search leaves out one's own team and its members: they are no new match either
      and not exists (
          select 1 from team_members mr join team_members mc on mc.team_id = mr.team_id
          where mr.user_id = r.id and mc.user_id = c.id)
),
claimed as (
    -- the claim and the check are one statement: two matchers never both send a digest
    update users u set digest_sent_at = now()
    where u.id in (select recipient from pairs)
      and (u.digest_sent_at is null or u.digest_sent_at < now() - interval '1 day')
    returning u.id, u.language
)
select claimed.id as user_id, claimed.language, pairs.match_type, count(*) as n
from claimed join pairs on pairs.recipient = claimed.id
group by claimed.id, claimed.language, pairs.match_type
order by claimed.id, pairs.match_type
"""


def claim_digests(conn: Connection, changed: list[int], visible: list[str]) -> list[Digest]:
    """Searching users who would find one of `changed` and have had no digest for a day;
    marks them as told. `visible` holds "seer:seen" user_type pairs."""
    rows = conn.execute(_DIGESTS, {"changed": changed, "visible": visible}).fetchall()
    digests: dict[int, Digest] = {}
    for row in rows:
        digest = digests.setdefault(row["user_id"], Digest(row["user_id"], row["language"], {}))
        digest.new_matches[row["match_type"]] = int(row["n"])
    return list(digests.values())
