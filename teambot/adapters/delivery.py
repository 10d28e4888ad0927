"""Sending one outbox row through the Bot API, and what became of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from aiogram.types import Message

from teambot.adapters.effects import Outgoing, not_collecting
from teambot.adapters.flood_control import background
from teambot.adapters.telegram import TRANSIENT_TELEGRAM_ERRORS, send_ready

# What became of one outgoing call:
#   sent      Telegram took it (message_id: of the message it sent, if any)
#   refused   Telegram will not take it; `unreachable`: the chat is closed to the bot
#   retry     Telegram is away or slow: the row stays unsent and is tried again later
Outcome = Literal["sent", "refused", "retry"]


@dataclass(frozen=True)
class Delivery:
    outgoing: Outgoing
    outcome: Outcome
    message_id: int | None = None
    error: str | None = None
    unreachable: bool = False


async def deliver(bot: Bot, outgoing: Outgoing, message_ids: Mapping[int, int]) -> Delivery:
    """Make the call, with provisional message ids replaced from `message_ids` (outbox row
    id → Telegram's message id). A call that names a message never sent is refused."""
    method, fields = outgoing.method, outgoing.payload
    target = outgoing.refers_to
    if target is not None:
        if target not in message_ids:
            return Delivery(outgoing, "refused", error="the message it edits was not sent")
        method = method.model_copy(update={"message_id": message_ids[target]})
        fields = {**fields, "message_id": message_ids[target]}
    try:
        with not_collecting():
            if outgoing.background:
                with background():
                    result = await send_ready(bot, method, fields)
            else:
                result = await send_ready(bot, method, fields)
    except TelegramForbiddenError as exc:
        return Delivery(outgoing, "refused", error=exc.message, unreachable=True)
    except TelegramBadRequest as exc:
        closed = "chat not found" in exc.message and isinstance(method, SendMessage)
        return Delivery(outgoing, "refused", error=exc.message, unreachable=closed)
    except TRANSIENT_TELEGRAM_ERRORS as exc:
        return Delivery(outgoing, "retry", error=exc.message)
    except (TelegramUnauthorizedError, TelegramConflictError) as exc:
        # the token was revoked or is in use elsewhere: not this message's fault
        return Delivery(outgoing, "retry", error=exc.message)
    except TelegramAPIError as exc:
        return Delivery(outgoing, "refused", error=exc.message)
    # plain JSON from our session (send_ready); another session (a benchmark's stock
    # aiogram) answers with the model
    message_id = result.get("message_id") if isinstance(result, dict) else None
    if isinstance(result, Message):
        message_id = result.message_id
    return Delivery(
        outgoing, "sent", message_id=message_id if isinstance(message_id, int) else None
    )
