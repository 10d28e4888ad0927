"""The queries that run often or over big tables use their indexes (EXPLAIN, on enough rows
that the planner would rather scan than guess).

Where a data-layer function can be called, the statements it really runs are planned: a
recording connection EXPLAINs each statement with its parameters just before running it, in
a transaction rolled back afterwards, so a change to the SQL is what the test sees."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import psycopg
import pytest
from psycopg import sql as pg_sql
from psycopg.rows import dict_row

from teambot.adapters.database import Connection
from teambot.services.matching import visibility_pairs


def nodes(plan: Any) -> Iterator[dict[str, Any]]:
    if isinstance(plan, dict):
        if "Node Type" in plan:
            yield plan
        for value in plan.values():
            yield from nodes(value)
    elif isinstance(plan, list):
        for value in plan:
            yield from nodes(value)


def indexes_in(plan: Any) -> set[str]:
    return {node["Index Name"] for node in nodes(plan) if "Index Name" in node}


def seq_scanned(plan: Any) -> set[str]:
    return {node["Relation Name"] for node in nodes(plan) if node["Node Type"] == "Seq Scan"}


@pytest.fixture(scope="module")
def big(postgres_server: str, template_database: str) -> Iterator[psycopg.Connection[Any]]:
    name = "teambot_query_plans"
    dbname = f"{name}_{template_database.rsplit('_', 1)[-1]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"drop database if exists {dbname} with (force)")
        admin.execute(f"create database {dbname} template {template_database}")
    url = psycopg.conninfo.make_conninfo(postgres_server, dbname=dbname)
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(
            """
            insert into users (id, display_name, user_type, skills, looking_for, is_searching,
                               registered_at, last_active, deleted_at)
            select g, 'u' || g, (array['participant', 'cofounder', 'team'])[1 + g % 3],
                   array['s' || (g % 200), 's' || (g % 37)], array['s' || (g % 113)],
                   g % 50 <> 0, now(), now() - (g % 20) * interval '1 day',
                   case when g % 500 = 0 then now() - interval '40 days' end
            from generate_series(1, 20000) g
            """
        )
        conn.execute(
            """
            insert into invitations (sender_id, recipient_id, kind, status, expires_at)
            select 1 + g % 20000, 1 + (g * 7) % 20000, 'connect',
                   case when g % 100 = 0 then 'pending' else 'declined' end,
                   now() + (g % 5 - 2) * interval '1 day'
            from generate_series(1, 60000) g
            where 1 + g % 20000 <> 1 + (g * 7) % 20000
            on conflict do nothing
            """
        )
        # teams (every team-type user owns one; a third of them have a member besides)
        conn.execute(
            "insert into teams (owner_id, name) select id, 't' || id from users"
            " where user_type = 'team'"
        )
        conn.execute(
            """
            insert into team_members (team_id, user_id)
            select id, owner_id from teams
            union all
            select id, owner_id - 2 from teams where owner_id % 9 = 2 and owner_id > 2
            """
        )
        # 20 events, a third of the users in one
        conn.execute(
            "insert into events (slug, name, starts_on, ends_on) select 'ev-' || g, 'e',"
            " current_date, current_date + 1 from generate_series(1, 20) g"
        )
        conn.execute(
            "insert into event_members (event_id, user_id) select e.id, g"
            " from generate_series(1, 20000) g join events e on e.slug = 'ev-' || (1 + g % 20)"
            " where g % 3 = 0"
        )
        # search cards: each user was shown ten people
        conn.execute(
            """
            insert into search_cards (viewer_id, candidate_id)
            select v, 1 + (v + k * 97) % 20000 from generate_series(1, 20000) v,
                   generate_series(1, 10) k
            on conflict do nothing
            """
        )
        # two days of handled updates, a month of dialogues: the cleanup forgets the oldest
        conn.execute(
            "insert into handled_updates (update_id, handled_at)"
            " select g, now() - g * interval '3 seconds' from generate_series(1, 60000) g"
        )
        conn.execute(
            "insert into fsm_states (key, state, updated_at)"
            " select 'bot:' || g || ':' || g, 'step', now() - (g % 40) * interval '1 day'"
            " from generate_series(1, 20000) g"
        )
        # a week of sent messages, a few still to send
        conn.execute(
            "insert into outbox (id, chat_id, method, payload, sent_at, message_id)"
            " select g, 1 + g % 20000, 'sendMessage', '{}'::jsonb, case when g % 5000 <> 0"
            " then now() - (g % 170) * interval '1 hour' end, g from generate_series(1, 100000) g"
        )
        conn.execute("analyze")
        yield conn


def explain(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> Any:
    row = conn.execute(f"explain (format json) {sql}", params, prepare=False).fetchone()
    assert row is not None
    return row["QUERY PLAN"]


@dataclass(frozen=True)
class Planned:
    sql: str
    plan: Any


class Recording:
    """A connection that plans every statement before it runs it."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.planned: list[Planned] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        text = query.as_string(self.conn) if isinstance(query, pg_sql.Composable) else str(query)
        self.planned.append(Planned(text, explain(self.conn, text, params)))
        return self.conn.execute(query, params, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def planned(
    conn: psycopg.Connection[Any], work: Callable[..., Any], *args: Any, **kwargs: Any
) -> list[Planned]:
    """The statements `work(conn, ...)` runs, each with its plan; its writes rolled back."""
    recording = Recording(conn)
    with conn.transaction(force_rollback=True):
        work(cast(Connection, recording), *args, **kwargs)
    assert recording.planned, f"{work} ran no statement"
    return recording.planned


def test_cleanup_jobs_find_their_rows_by_index(big: psycopg.Connection[Any]) -> None:
    from teambot.data import fsm, handled_updates, invitations, outbox, users

    expected: dict[Callable[..., Any], tuple[dict[str, Any], str]] = {
        invitations.expire_due: ({"batch": 1000}, "invitations_expiry_idx"),
        users.stop_inactive: ({"days": 30, "batch": 1000}, "users_last_active_idx"),
        # the searching people's partial index: its predicate is the question's
        users.ask_still_looking: (
            {"days": 30, "ahead": 7, "batch": 1000},
            "users_search_recent_idx",
        ),
        users.purge_deleted: ({"days": 30, "batch": 10000}, "users_deleted_at_idx"),
        handled_updates.forget_older_than: ({"hours": 48}, "handled_updates_handled_at_idx"),
        fsm.forget_idle: ({"days": 30}, "fsm_states_updated_at_idx"),
        outbox.forget_sent: ({"hours": 7 * 24}, "outbox_sent_at"),
    }
    for job, (arguments, index) in expected.items():
        (statement,) = planned(big, job, **arguments)  # one statement per batch
        assert index in indexes_in(statement.plan), statement.sql
        assert not seq_scanned(statement.plan) & {"users", "invitations"}, statement.sql


@pytest.mark.parametrize("types", [["team"], ["participant", "cofounder"]])
@pytest.mark.parametrize("skill", [None, "s7", "s42"])  # none, one I look for, another
@pytest.mark.parametrize("prefers", [False, True])  # no preferences; must-haves and filters
def test_search_statements_use_indexes(
    big: psycopg.Connection[Any], types: list[str], skill: str | None, prefers: bool
) -> None:
    from teambot.data import search
    from teambot.services.fit import Filters, Person

    me, wants, skills = 3, ["s7", "s11"], ["s3", "s5", "s9"]
    (excluded,) = planned(big, search.left_out, me)
    assert not seq_scanned(excluded.plan) & {"invitations", "team_members", "search_cards"}
    assert {
        "invitations_sender_pending_idx",
        "invitations_recipient_pending_idx",
        "team_members_one_team_idx",
    } <= indexes_in(excluded.plan)
    person = Person(
        skills=tuple(skills),
        looking_for=tuple(wants),
        hours_per_week="full_time",
        utc_offset=180,
        languages=("en",),
        wanted_roles=("design",),
        want_commitment=2 if prefers else 0,
        want_language=2 if prefers else 0,
        want_role=1 if prefers else 0,
    )
    filters = Filters(role="technical", remote=True) if prefers else Filters()
    shape = search.shape_of(person, skill, filters, wants=len(wants), skills=len(skills))
    params = {
        **search.parameters(
            skills=skills,
            wants=wants,
            types=types,
            skill=skill,
            excluded=[me, 5, 6],
            me=person,
            filters=filters,
        ),
        "pos": 5,
        "window": 2000,
        "windows": 8,
        "edge_active": "infinity",
        "edge_id": 0,
        "event": 1,
        "id": 4,
        "wants": wants,
        "skills": skills,
        "me": me,
    }
    # every statement a search of this shape may run
    for name, sql in search.queries(shape).items():
        found = explain(big, sql, params)
        # never a scan of every user (or invitation): a window reads `window` × `windows`
        # rows of the recency index, the card and the pool come by key
        assert not seq_scanned(found) & {"users", "invitations", "event_members"}, name
        # by recency, or with a skill from the GIN index
        recent = {
            "users_search_recent_idx",
            "users_active_search_idx",
            "users_tags_gin_idx",
            # migration 0016's, which hold only those who pass a quick filter or test it
            "users_search_role_idx",
            "users_search_hours_idx",
            "users_search_tags_idx",
        }
        # the walk with filters: an index of theirs (migration 0016), the role focus's when
        # there is a role filter, the one that tests the skill in the index for a skill (or
        # the GIN index for a skill so rare that reading all its holders costs less)
        walk = (
            {"users_search_role_idx"}
            if filters.role
            else {"users_search_tags_idx", "users_tags_gin_idx"}
            if skill
            else {"users_search_recent_idx"}
        )
        expected = {
            "window": walk,
            "blockers": recent,
            "card": {"users_pkey"},
            # an event's members in recency order (migration 0020), each row by key
            "event": {"event_members_recent_idx"},
        }[name]
        assert expected & indexes_in(found), (name, indexes_in(found))
        if name == "window" and skill:
            # the filters tested in the index: no table row read for those who fail them (a
            # role focus alone: its index holds only those who pass, read with their rows)
            for walked in nodes(found):
                if walked.get("Index Name") in walk - {"users_tags_gin_idx"}:
                    assert walked["Node Type"] == "Index Only Scan", walked


def test_digests_find_who_looks_for_the_new_skills(big: psycopg.Connection[Any]) -> None:
    from teambot.data.matches import claim_digests

    (claimed,) = planned(big, claim_digests, [1, 2, 3], visibility_pairs())
    assert "users_tags_gin_idx" in indexes_in(claimed.plan)


def test_card_buttons_and_empty_answers_use_indexes(big: psycopg.Connection[Any]) -> None:
    from teambot.data import search

    # everyone's pool: user 3's event holds no team (the event's statement is planned above)
    ranked = planned(
        big,
        search.find,
        me=3,
        skills=["s3"],
        wants=["s7"],
        types=["team"],
        skill=None,
        offset=0,
        everyone=True,
    )
    # the card comes with the reference its buttons carry: made on first showing, or found
    (card,) = [statement for statement in ranked if "insert into search_cards" in statement.sql]
    assert {"search_cards_viewer_id_candidate_id_key", "users_pkey"} <= indexes_in(card.plan)
    assert not seq_scanned(card.plan) & {"users", "search_cards"}
    shown = big.execute("select min(id) as ref from search_cards where viewer_id = 3").fetchone()
    assert shown is not None
    # a press from a card: whether the card is the viewer's, in the same statement
    (pressed,) = planned(big, search.left_out, 3, shown["ref"])
    assert "search_cards_pkey" in indexes_in(pressed.plan)
    (target,) = planned(big, search.card_target, 3, 1234)
    assert not seq_scanned(target.plan) & {"search_cards", "users", "invitations", "team_members"}
    assert {"search_cards_pkey", "users_pkey", "invitations_one_pending_per_pair_idx"} <= (
        indexes_in(target.plan)
    )
    for skill in (None, "s7"):
        left_out = explain(
            big,
            search.count_left_out_sql(skill is not None),
            {
                "hidden": [5, 6],
                "left_out": [5, 6, 7, 8],
                "excluded": [3],
                "types": ["team"],
                "skill": skill,
            },
        )
        assert not seq_scanned(left_out) & {"users"}
        assert "users_pkey" in indexes_in(left_out)


def test_the_outbox_sweep_finds_what_is_left_to_send_by_index(big: psycopg.Connection[Any]) -> None:
    from teambot.data import outbox

    (left,) = planned(big, outbox.claim_unsent, 100)  # every few seconds
    assert "outbox_unsent" in indexes_in(left.plan)
    assert not seq_scanned(left.plan)


def test_each_broadcast_batch_finds_its_recipients_and_rows_by_index(
    big: psycopg.Connection[Any],
) -> None:
    """What the broadcast actor runs per batch of 30: the pace check before it, the next
    recipients with the broadcast's lock, the cursor's advance; over a finished broadcast to
    everyone and one half way through."""
    from teambot.data import broadcasts

    with big.transaction(force_rollback=True):
        rows = big.execute(
            "insert into broadcasts (admin_id, body, audience, status, total, progress_chat,"
            " progress_message_id, finished_at) values"
            " (1, 'b', 'everyone', 'done', 20000, 1, 1, now()),"
            " (1, 'b', 'everyone', 'sending', 20000, 1, 2, null) returning id"
        ).fetchall()
        done, sending = (int(row["id"]) for row in rows)
        # the finished one: every message written (and sent); the other: half of them, the
        # rest waiting for their batch (outbox rows 1..100000, a few unsent)
        big.execute(
            "insert into broadcast_recipients (broadcast_id, user_id, outbox_id)"
            " select %s, g, 20000 + g from generate_series(1, 20000) g"
            " union all select %s, g, case when g <= 10000 then 50000 + g end"
            " from generate_series(1, 20000) g",
            (done, sending),
        )
        big.execute("analyze broadcasts, broadcast_recipients")
        recipients = {"broadcast_recipients", "outbox", "users"}

        (pace,) = planned(big, broadcasts.pace, sending)
        assert not seq_scanned(pace.plan) & recipients, pace.sql
        assert {"broadcast_recipients_waiting", "outbox_unsent", "broadcast_recipients_outbox"} <= (
            indexes_in(pace.plan)
        ), indexes_in(pace.plan)

        locked, batch = planned(big, broadcasts.take_batch, sending, 30)
        # the broadcast itself: by key, or a scan of a table of two rows
        assert not seq_scanned(locked.plan) - {"broadcasts"}, locked.sql
        assert not seq_scanned(batch.plan) & recipients, batch.sql
        assert {"broadcast_recipients_waiting", "users_pkey"} <= indexes_in(batch.plan)

        (written,) = planned(
            big, broadcasts.written, sending, {10001 + n: 60001 + n for n in range(28)}, [10029]
        )
        assert not seq_scanned(written.plan) & recipients, written.sql
        assert "broadcast_recipients_pkey" in indexes_in(written.plan), indexes_in(written.plan)


def test_a_broadcasts_progress_reads_counters_and_index_bounded_counts(
    big: psycopg.Connection[Any],
) -> None:
    """The admin's figures, every 3 s while a broadcast runs: its counters, its unsent
    messages (few) and the undelivered since it started, never all its recipients and
    outbox rows; the same figures as counted over them all."""
    from teambot.data import broadcasts

    with big.transaction(force_rollback=True):
        rows = big.execute(
            "insert into broadcasts (admin_id, body, audience, status, total, progress_chat,"
            " progress_message_id, finished_at) values"
            " (1, 'b', 'everyone', 'done', 20000, 1, 1, now()),"
            " (1, 'b', 'everyone', 'sending', 20000, 1, 2, null) returning id"
        ).fetchall()
        done, sending = (int(row["id"]) for row in rows)
        # the finished one's 20 000 messages sent (one in 20 refused); the running one's first
        # 15 000 written, 14 950 of them sent (one in 25 refused) and 50 waiting, 500 skipped
        big.execute(
            "insert into outbox (id, chat_id, method, payload, background, sent_at, error)"
            " select g, g, 'sendMessage', '{}'::jsonb, true, now(),"
            " case when g % 20 = 0 then 'Forbidden' end from generate_series(2000001, 2020000) g"
            " union all select g, g, 'sendMessage', '{}'::jsonb, true,"
            " case when g <= 5014950 then now() end,"
            " case when g <= 5014950 and g % 25 = 0 then 'Forbidden' end"
            " from generate_series(5000001, 5015000) g"
        )
        big.execute(
            "insert into broadcast_recipients (broadcast_id, user_id, outbox_id)"
            " select %s, g, 2000000 + g from generate_series(1, 20000) g",
            (done,),
        )
        big.execute(
            "insert into broadcast_recipients (broadcast_id, user_id, outbox_id, left_out)"
            " select %s, g, case when g <= 15000 then 5000000 + g end, g between 15001 and 15500"
            " from generate_series(1, 20000) g",
            (sending,),
        )
        big.execute("analyze broadcasts, broadcast_recipients, outbox")

        (progress,) = planned(big, broadcasts.progress, sending)
        assert not seq_scanned(progress.plan) & {"broadcast_recipients", "outbox"}, progress.sql
        assert {"outbox_unsent", "outbox_undelivered", "broadcast_recipients_outbox"} <= (
            indexes_in(progress.plan)
        ), indexes_in(progress.plan)
        figures = broadcasts.progress(big, sending)
        assert figures is not None
        assert (figures.delivered, figures.undelivered, figures.skipped) == (14352, 598, 500)
        assert figures.remaining == 20000 - 14352 - 598 - 500
        # withdrawn (a stop): the waiting messages go, their people count as not sent
        big.execute("update broadcasts set status = 'stopped' where id = %s", (sending,))
        assert broadcasts.withdraw(big, sending) == 50
        after = broadcasts.progress(big, sending)
        assert after is not None and after.remaining == figures.remaining
        assert (after.delivered, after.undelivered, after.skipped) == (14352, 598, 500)


def test_the_proposal_expiry_finds_the_open_groups_by_index(big: psycopg.Connection[Any]) -> None:
    """The cleanup's pass over auto-fill's groups: the few still open among 100 000."""
    from teambot.data import events

    with big.transaction(force_rollback=True):
        big.execute(
            "insert into event_autofills (event_id, created_at) select e.id, now()"
            " - (g % 100) * interval '1 hour' from generate_series(1, 10000) g"
            " join events e on e.slug = 'ev-' || (1 + g % 20)"
        )
        big.execute(
            "insert into event_proposals (autofill_id, number, status) select a.id, n,"
            " case when (a.id + n) % 50 = 0 then 'pending' else 'failed' end"
            " from event_autofills a, generate_series(1, 10) n"
        )
        big.execute("analyze event_autofills, event_proposals")
        (expired,) = planned(big, events.expire_due, 72, 100)
        assert not seq_scanned(expired.plan) & {"event_proposals"}, expired.sql
        assert "event_proposals_pending_idx" in indexes_in(expired.plan), indexes_in(expired.plan)


@pytest.mark.parametrize("remote", [False, True])
def test_a_curated_skill_is_walked_in_its_own_index(
    big: psycopg.Connection[Any], remote: bool
) -> None:
    """A skill of the curated list: its holders in recency order from its index (migration
    0020), each row read once; the statements `find` really runs."""
    from teambot.data import search
    from teambot.services.fit import Filters

    with big.transaction(force_rollback=True):
        # a skill many hold (at 20 000 people, reading a rarer one's holders whole costs
        # less than a window of random rows: the GIN index then)
        big.execute(
            "update users set skills = skills || '{python}',"
            " work_mode = (array['remote', 'either', 'on_site'])[1 + id % 3] where id % 2 = 0"
        )
        big.execute("analyze users")
        statements = planned(
            big,
            search.find,
            me=3,
            skills=["s3"],
            wants=["s7"],
            types=["participant", "cofounder"],
            skill="python",
            offset=3,
            filters=Filters(remote=remote),
            everyone=True,
        )
    walks = [statement for statement in statements if "walked" in statement.sql]
    assert walks
    for walk in walks:
        assert "users_skill_python_idx" in indexes_in(walk.plan), indexes_in(walk.plan)
        assert not seq_scanned(walk.plan) & {"users"}


def test_every_curated_skill_has_its_index(big: psycopg.Connection[Any]) -> None:
    """A skill added to the curated list needs its index (a migration like 0020), or its
    searches walk users_search_tags_idx as a free tag's do."""
    from teambot.services.skills import CURATED

    rows = big.execute(
        "select indexname, indexdef from pg_indexes where tablename = 'users'"
        " and indexname like 'users_skill_%%'"
    ).fetchall()
    defined = {row["indexname"]: row["indexdef"] for row in rows}
    for skill in CURATED:
        assert f"'{{{skill}}}'" in defined.get(f"users_skill_{skill}_idx", ""), skill


def test_an_event_pool_is_walked_by_its_members_recency(big: psycopg.Connection[Any]) -> None:
    """User 3 is in an event: the statements `find` runs walk its members from
    event_members_recent_idx (migration 0020), each member's row by key."""
    from teambot.data import search

    statements = planned(
        big,
        search.find,
        me=3,
        skills=["s3"],
        wants=["s7"],
        types=["participant", "cofounder", "team"],
        skill=None,
        offset=2,
    )
    walks = [statement for statement in statements if "event_members m cross join" in statement.sql]
    assert walks, [statement.sql[:80] for statement in statements]
    for walk in walks:
        assert {"event_members_recent_idx", "users_pkey"} <= indexes_in(walk.plan)
        assert not seq_scanned(walk.plan) & {"users", "event_members"}
