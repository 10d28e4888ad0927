"""Update ids whose handling finished, so a redelivered update is not acted on twice."""

from __future__ import annotations

from teambot.adapters.database import Connection, prepared


def record(conn: Connection, update_ids: list[int]) -> None:
    conn.execute(
        "insert into handled_updates (update_id) select unnest(%s::bigint[])"
        " on conflict do nothing",
        (update_ids,),
    )


def forget_older_than(conn: Connection, hours: float) -> int:
    # Telegram keeps unconfirmed updates for 24 h; past that no redelivery can happen.
    cur = conn.execute(
        "delete from handled_updates where handled_at < now() - make_interval(hours => %s)",
        (hours,),
    )
    return cur.rowcount


# The handled mark as common table expressions (parameter: update_id): the update leaves the
# inbox (webhook mode) and is marked handled. `mark` runs them alone; outbox.insert puts
# them in front of the update's messages, so that both take one statement.
MARKING = (
    "taken as (delete from inbox where update_id = %(update_id)s),"
    " marked as (insert into handled_updates (update_id) values (%(update_id)s))"
)

_MARK = prepared(f"with {MARKING} select")


def mark(conn: Connection, update_id: int) -> None:
    """Written with the update's effects. A second handling of the same update fails here
    (unique violation), so its effects are rolled back and nothing is done twice. In
    webhook mode the update leaves the inbox in the same statement."""
    conn.execute(_MARK, {"update_id": update_id})
