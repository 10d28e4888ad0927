"""Broadcasts: the organizers' announcements, their recipients and how far they got."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from teambot.adapters.database import Connection
from teambot.domain import Audience, AudienceChoice, BroadcastProgress

# Who takes announcements: registered, neither deleted nor banned, not opted out, and not
# known to have closed the chat with the bot.
_TAKES_THEM = (
    "u.registered_at is not null and u.deleted_at is null and not u.is_banned"
    " and u.announcements and u.unreachable_since is null"
)
_TEAMLESS = "not exists (select 1 from team_members m where m.user_id = u.id)"
_IN_EVENT = (
    "exists (select 1 from event_members m where m.event_id = %(event)s and m.user_id = u.id)"
)


@dataclass(frozen=True)
class Recipient:
    user_id: int
    language: str
    takes_it: bool  # still takes announcements now that their turn has come


def _audience_sql(audience: Audience) -> str:
    if audience.kind == "teamless":
        return f"{_TAKES_THEM} and {_TEAMLESS}"
    if audience.kind == "event":
        return f"{_TAKES_THEM} and {_IN_EVENT}"
    return _TAKES_THEM


def audiences(conn: Connection, events: int) -> list[AudienceChoice]:
    """Everyone, people without a team, and the `events` latest events that have members,
    each with how many of them take announcements."""
    rows = conn.execute(
        f"select 'everyone' as kind, null::bigint as event_id, null as name,"
        f" count(*) as n from users u where {_TAKES_THEM}"
        f" union all select 'teamless', null, null, count(*) from users u"
        f" where {_TAKES_THEM} and {_TEAMLESS}"
        f" union all (select 'event', e.id, e.name, count(*) filter (where {_TAKES_THEM})"
        f" from events e join event_members m on m.event_id = e.id"
        f" join users u on u.id = m.user_id"
        f" group by e.id order by e.starts_on desc, e.id desc limit %(events)s)",
        {"events": events},
    ).fetchall()
    return [
        AudienceChoice(Audience(row["kind"], row["event_id"]), int(row["n"]), row["name"])
        for row in rows
    ]


def sized(conn: Connection, audience: Audience) -> AudienceChoice | None:
    """The audience with how many would get it now; None for an event that does not exist."""
    name = None
    if audience.kind == "event":
        found = conn.execute(
            "select name from events where id = %s", (audience.event_id,)
        ).fetchone()
        if found is None:
            return None
        name = found["name"]
    row = conn.execute(
        f"select count(*) as n from users u where {_audience_sql(audience)}",
        {"event": audience.event_id},
    ).fetchone()
    return AudienceChoice(audience, int(row["n"]) if row else 0, name)


def create(
    conn: Connection,
    admin_id: int,
    body: str,
    audience: Audience,
    progress_chat: int,
    progress_message_id: int,
) -> tuple[int, int] | None:
    """A broadcast to the audience as it is now: its id and how many it goes to; None when
    it would go to nobody (the event is gone, say)."""
    row = conn.execute(
        "insert into broadcasts (admin_id, body, audience, event_id, total, progress_chat,"
        " progress_message_id) values (%s, %s, %s, %s, 0, %s, %s) returning id",
        (admin_id, body, audience.kind, audience.event_id, progress_chat, progress_message_id),
    ).fetchone()
    assert row is not None
    broadcast_id = int(row["id"])
    total = conn.execute(
        f"insert into broadcast_recipients (broadcast_id, user_id)"
        f" select %(broadcast)s, u.id from users u where {_audience_sql(audience)}",
        {"broadcast": broadcast_id, "event": audience.event_id},
    ).rowcount
    if total == 0:
        conn.execute("delete from broadcasts where id = %s", (broadcast_id,))
        return None
    conn.execute("update broadcasts set total = %s where id = %s", (total, broadcast_id))
    return broadcast_id, total


def unfinished(conn: Connection) -> int | None:
    """The oldest broadcast still sending (or stopped and not yet wound up)."""
    row = conn.execute(
        "select id from broadcasts where finished_at is null order by id limit 1"
    ).fetchone()
    return None if row is None else int(row["id"])


@dataclass(frozen=True)
class Pace:
    """What the actor checks before each batch (cheap: no count over all recipients)."""

    status: str
    to_write: bool  # recipients whose message is not written yet
    unsent: int  # its messages written and not sent yet
    held: int  # of those, the ones waiting for the outbox's sweep (Telegram was away)


def pace(conn: Connection, broadcast_id: int) -> Pace | None:
    # the outbox's unsent rows are few (a partial index), each looked up by its recipient;
    # the next recipient as take_batch finds it (an EXISTS would be planned as a scan that
    # expects a match at once, and read every finished broadcast's recipients first)
    row = conn.execute(
        "select b.status, (select r.user_id from broadcast_recipients r"
        " where r.broadcast_id = b.id and r.outbox_id is null and not r.left_out"
        " order by r.user_id limit 1) is not null as to_write,"
        " count(o.id) as unsent, count(o.id) filter (where o.claimed_at is null) as held"
        " from broadcasts b left join (outbox o join broadcast_recipients r"
        " on r.outbox_id = o.id) on r.broadcast_id = b.id and o.sent_at is null"
        " where b.id = %s group by b.id",
        (broadcast_id,),
    ).fetchone()
    return None if row is None else Pace(**row)


# Whether an outbox row is one of the broadcast's: looked up row by row (a lateral with a
# limit is never turned into a hash of all the recipients)
_OURS = (
    "cross join lateral (select from broadcast_recipients r"
    " where r.outbox_id = o.id and r.broadcast_id = b.id limit 1) ours"
)
# Counters the recipients' trigger keeps (0022), and two counts each bounded by a partial
# index from the broadcast's first outbox row on: its messages not sent yet (few: the
# outbox keeps up), and the undelivered (people who blocked the bot since it started).
_PROGRESS = (
    "select b.id, b.status, coalesce(a.language, 'en') as language, b.progress_chat,"
    " b.progress_message_id, b.total,"
    " b.written_count - c.unsent - c.undelivered as delivered,"
    " c.undelivered, b.skipped_count as skipped"
    " from broadcasts b left join users a on a.id = b.admin_id"
    " cross join lateral (select"
    f" (select count(*) from outbox o {_OURS} where o.sent_at is null"
    " and o.id >= b.first_outbox) as unsent,"
    f" (select count(*) from outbox o {_OURS} where o.error is not null"
    " and o.id >= b.first_outbox) as undelivered) c"
    " where b.id = %s"
)


def progress(conn: Connection, broadcast_id: int) -> BroadcastProgress | None:
    """The figures the admin sees (every few seconds while it runs)."""
    row = conn.execute(_PROGRESS, (broadcast_id,)).fetchone()
    return None if row is None else BroadcastProgress(**row)


def take_batch(conn: Connection, broadcast_id: int, limit: int) -> tuple[str, list[Recipient]]:
    """The broadcast's text and the next recipients whose message is not written yet, in id
    order (the cursor), if it is still sending. Locks the broadcast until the transaction
    ends, so a stop waits for the batch being written and the next batch sees it."""
    row = conn.execute(
        "select status, body from broadcasts where id = %s for update", (broadcast_id,)
    ).fetchone()
    if row is None or row["status"] != "sending":
        return "", []
    rows = conn.execute(
        f"select r.user_id, u.language, {_TAKES_THEM} as takes_it"
        f" from broadcast_recipients r join users u on u.id = r.user_id"
        f" where r.broadcast_id = %s and r.outbox_id is null and not r.left_out"
        f" order by r.user_id limit %s",
        (broadcast_id, limit),
    ).fetchall()
    return str(row["body"]), [Recipient(**row) for row in rows]


def written(
    conn: Connection, broadcast_id: int, outbox_ids: dict[int, int], left_out: list[int]
) -> None:
    """The cursor moves past a batch: whose message is in the outbox (which row), and who
    was left out."""
    conn.execute(
        "update broadcast_recipients r set outbox_id = t.o, left_out = t.o is null"
        " from unnest(%s::bigint[], %s::bigint[]) as t(u, o)"
        " where r.broadcast_id = %s and r.user_id = t.u",
        (
            [*outbox_ids, *left_out],
            [*outbox_ids.values(), *([None] * len(left_out))],
            broadcast_id,
        ),
    )


def stop(conn: Connection, broadcast_id: int) -> bool | None:
    """Stop sending it: True if it was sending, False if it had finished or stopped
    already, None when there is no such broadcast."""
    row = conn.execute(
        "select status = 'sending' as sending from broadcasts where id = %s for update",
        (broadcast_id,),
    ).fetchone()
    if row is None:
        return None
    if row["sending"]:
        conn.execute("update broadcasts set status = 'stopped' where id = %s", (broadcast_id,))
    return bool(row["sending"])


def withdraw(conn: Connection, broadcast_id: int) -> int:
    """A stopped broadcast's messages that still wait for the outbox's sweep are not sent:
    their rows go, and their recipients count as not sent."""
    cur = conn.execute(
        "with held as (delete from outbox o using broadcast_recipients r"
        " where r.broadcast_id = %(b)s and o.id = r.outbox_id and o.sent_at is null"
        " and o.claimed_at is null returning o.id)"
        " update broadcast_recipients r set outbox_id = null from held"
        " where r.broadcast_id = %(b)s and r.outbox_id = held.id",
        {"b": broadcast_id},
    )
    return cur.rowcount


def finish(conn: Connection, broadcast_id: int) -> BroadcastProgress | None:
    """Done (or stopped): the tally is kept on the broadcast; returns it."""
    tally = progress(conn, broadcast_id)
    if tally is None:
        return None
    row: dict[str, Any] | None = conn.execute(
        "update broadcasts set finished_at = now(),"
        " status = case status when 'sending' then 'done' else status end,"
        " delivered = %s, undelivered = %s, left_out = %s where id = %s returning status",
        (tally.delivered, tally.undelivered, tally.skipped, broadcast_id),
    ).fetchone()
    assert row is not None
    return replace(tally, status=row["status"])
