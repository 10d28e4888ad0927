"""What flows from the throttle to the dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiogram.types import Update, User

from teambot.actors.pipeline.ledger import PendingUpdate
from teambot.adapters.telegram import update_sender


@dataclass(frozen=True)
class Throttled:
    """The update is over its sender's budget: it is dropped, and the sender hears the
    wait. A button press is always answered (or its spinner turns on); a message is told
    once per window, not once per dropped update."""

    tell: bool
    # Asked when the notice goes out, not when the update was throttled: the wait it
    # states is the one left at that moment.
    seconds_left: Callable[[], int]


@dataclass
class PressAnswer:
    """Telegram takes one answerCallbackQuery per button press and refuses a second."""

    answered: bool = False  # Telegram took an answer to this press
    refused: bool = False  # Telegram refused one: answered before, or the press is too old

    @property
    def open(self) -> bool:
        return not (self.answered or self.refused)


@dataclass
class Handled:
    """Set while the update is handled: its unit of work committed its handled mark."""

    marked: bool = False


@dataclass(frozen=True)
class Work:
    pending: PendingUpdate
    # Updates with the same key are handled one after another, in arrival order.
    key: tuple[str, int]
    user: User | None
    throttled: Throttled | None = None
    # Filled in while the update is handled; an apology for a failure reads it.
    press: PressAnswer = field(default_factory=PressAnswer, compare=False)
    handled: Handled = field(default_factory=Handled, compare=False)

    @property
    def update(self) -> Update | None:
        return self.pending.update


def sender_of(update: Update | None) -> User | None:
    if update is None:
        return None
    try:
        return update_sender(update)
    except Exception:  # noqa: BLE001 - unknown update types have no sender
        return None


def ordering_key(pending: PendingUpdate, user: User | None) -> tuple[str, int]:
    if user is not None:
        return ("user", user.id)
    return unordered(pending)


def unordered(pending: PendingUpdate) -> tuple[str, int]:
    """A key of its own: handled beside the sender's other updates, not behind them."""
    return ("update", pending.update_id)
