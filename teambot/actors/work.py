"""What flows from the throttle to the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.types import Update, User

from teambot.ledger import PendingUpdate


@dataclass(frozen=True)
class Work:
    pending: PendingUpdate
    # Updates with the same key are handled one after another, in arrival order.
    key: tuple[str, int]
    user: User | None
    # Set when the user is over the rate limit: the update is dropped, and the user is
    # told to wait this many seconds (None: already told in this window).
    throttled: bool = False
    retry_in: int | None = None

    @property
    def update(self) -> Update | None:
        return self.pending.update


def sender_of(update: Update | None) -> User | None:
    if update is None:
        return None
    try:
        return UserContextMiddleware.resolve_event_context(update).user
    except Exception:  # noqa: BLE001 - unknown update types have no sender
        return None


def ordering_key(pending: PendingUpdate, user: User | None) -> tuple[str, int]:
    if user is not None:
        return ("user", user.id)
    return ("update", pending.update_id)  # no sender: nothing to keep in order with
