"""The periodic jobs the cleanup timer runs. Each is idempotent, works in batches (no long
table locks), holds a PostgreSQL advisory lock so one instance runs it at a time, and tells
the people concerned: a batch and its messages commit together (an outbox unit), and the
messages are sent after that."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aiogram import Bot

from teambot import notices
from teambot.actors.cleanup import CleanupJob
from teambot.actors.outbox import Outbox
from teambot.adapters.database import Connection, Database
from teambot.config import Settings
from teambot.data import dashboard, fsm, handled_updates, invitations, users
from teambot.data import outbox as sent_messages
from teambot.services import events as event_rules
from teambot.services import invitations as invitation_rules

BATCH = 1000
PROPOSAL_BATCH = 100  # a group's members and its run's report are read one by one
T = TypeVar("T")
_LOCK_BASE = 0x7465616D0000  # + job number
STILL_LOOKING_DAYS = 7


def still_looking_ahead(days: int) -> int:
    """How many days before the inactivity pause "Still looking?" is asked: a week, or
    half the stretch when that is shorter (0: not asked)."""
    return min(STILL_LOOKING_DAYS, days // 2)


def _locked(key: int, work: Callable[[Connection], list[T]]) -> Callable[[Connection], list[T]]:
    def run(conn: Connection) -> list[T]:
        row = conn.execute("select pg_try_advisory_xact_lock(%s) as got", (key,)).fetchone()
        return work(conn) if row and row["got"] else []

    return run


def build_jobs(
    settings: Settings, database: Database, outbox: Outbox, bot: Bot
) -> list[CleanupJob]:
    async def expire_invitations() -> int:
        total = 0
        while True:
            async with outbox.unit():
                batch = await database.run(
                    _locked(_LOCK_BASE + 1, lambda c: invitation_rules.expire(c, BATCH))
                )
                await notices.announce_expired(bot, batch)
            total += len(batch)
            if len(batch) < BATCH:
                return total

    async def expire_proposals() -> int:
        # auto-fill's groups nobody finished answering: after the invitations' time
        hours = settings.cleanup_expired_invitations_hours
        total = 0
        while True:
            async with outbox.unit():
                expiry = await database.run(
                    _locked(
                        _LOCK_BASE + 13,
                        lambda c: [event_rules.expire(c, hours, PROPOSAL_BATCH)],
                    )
                )
                for item in expiry:
                    await notices.proposals_expired(bot, item)
            done = sum(len(item.groups) for item in expiry)
            total += done
            if done < PROPOSAL_BATCH:
                return total

    async def retire_closed_keyboards() -> int:
        # messages still showing buttons of invitations closed elsewhere: expired just now,
        # closed by an account deletion or a change of a team's owner, or left by a crash
        total = 0
        while True:
            async with outbox.unit():
                batch = await database.run(
                    _locked(_LOCK_BASE + 3, lambda c: invitations.closed_messages(c, BATCH))
                )
                await notices.close_keyboards(bot, database, batch)
            total += len(batch)
            if len(batch) < BATCH:
                return total

    async def stop_inactive_users() -> int:
        total = 0
        while True:
            async with outbox.unit():
                batch = await database.run(
                    _locked(
                        _LOCK_BASE + 2,
                        lambda c: users.stop_inactive(
                            c, settings.cleanup_inactive_users_days, BATCH
                        ),
                    )
                )
                for user in batch:
                    days = settings.cleanup_inactive_users_days
                    await notices.paused_inactive(bot, user, days)
            total += len(batch)
            if len(batch) < BATCH:
                return total

    async def ask_still_looking() -> int:
        # after the pause of this pass: who is past the line hears of the pause, not this
        days = settings.cleanup_inactive_users_days
        ahead = still_looking_ahead(days)
        total = 0
        while ahead:
            async with outbox.unit():
                batch = await database.run(
                    _locked(
                        _LOCK_BASE + 12,
                        lambda c: users.ask_still_looking(c, days, ahead, BATCH),
                    )
                )
                for user, days_left in batch:
                    await notices.still_looking(bot, user, days_left)
            total += len(batch)
            if len(batch) < BATCH:
                break
        return total

    async def purge_deleted_users() -> int:
        return await database.run(
            users.purge_deleted, settings.deleted_user_retention_days, BATCH * 10
        )

    async def forget_handled_updates() -> int:
        return await database.run(handled_updates.forget_older_than, 48)

    async def forget_idle_dialogues() -> int:
        return await database.run(fsm.forget_idle, 30)

    async def forget_sent_messages() -> int:
        # past the time a dialogue would still edit the messages they sent
        return await database.run(sent_messages.forget_sent, 7 * 24)

    async def fold_dashboard_figures() -> int:
        # the differences the bot's writes added since the last pass (or page), so that
        # they never pile up while nobody looks at the dashboard
        return await database.run(dashboard.fold)

    return [
        CleanupJob("expire invitations", expire_invitations),
        CleanupJob("expire auto-fill proposals", expire_proposals),
        CleanupJob("retire closed keyboards", retire_closed_keyboards),
        CleanupJob("stop inactive users", stop_inactive_users),
        CleanupJob("ask who is still looking", ask_still_looking),
        CleanupJob("purge deleted users", purge_deleted_users),
        CleanupJob("forget handled update ids", forget_handled_updates),
        CleanupJob("forget idle dialogues", forget_idle_dialogues),
        CleanupJob("forget sent messages", forget_sent_messages),
        CleanupJob("fold the dashboard's figures", fold_dashboard_figures),
    ]
