"""Session middleware: every outgoing message keeps within Telegram's flood limits.

Telegram allows about 30 messages a second overall, about one a second per private chat
(with a short burst) and 20 a minute per group; past that it answers 429. Waiting here
costs less than a 429, whose retry_after is seconds long and which RetryTransient (outside
this middleware) still honours if it comes anyway.

Replies to users come before messages the bot starts itself (digests, cleanup notices,
broadcasts), and a fan-out to thousands of users does not slow them: a background message
books no slot ahead but waits until one is free (one at a time), so a reply asking meanwhile
takes it; and a reply may go one slot early, so one that comes just after a background
message goes at once rather than a slot later. Measured in bench/broadcast.py.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import anyio
from aiogram import Bot
from aiogram.methods import TelegramMethod

from teambot.metrics import Metrics

# Under Telegram's figures: the server counts our requests as they arrive, a little out of
# the step we send them in (a busy machine delays one more than the next). Any 31 messages in
# a row span at least 29 slots (replies go one slot early) = 1.16 s: 160 ms of such jitter
# before Telegram would count 31 in one second (at 27 a second it was 74 ms, and the
# three-instance test met a 429 in about one run of six on a loaded 2-core machine).
GLOBAL_PER_SECOND = 25.0
REPLY_EARLY = 1  # slots a reply may go ahead of the pace
PRIVATE_INTERVAL = 1.05  # seconds between messages to one private chat, sustained
PRIVATE_BURST = 3
GROUP_INTERVAL = 3.1  # 20 a minute, evenly spread
# The pace is booked ahead. A stall of the event loop (a long piece of work, the machine
# busy) lets the messages booked for the slots it missed leave together, and the paced 25 a
# second arrive as more: no message leaves while the last WINDOW_MESSAGES left within
# WINDOW_SECONDS. The pace above never meets that bound (any 30 messages in a row span at
# least 28 slots, 1.12 s); only a clump after a stall does.
WINDOW_MESSAGES = 29
WINDOW_SECONDS = 1.1
# the longest any pace above remembers a message: after it nothing sent before counts
HANDOVER_QUIET = GROUP_INTERVAL

LIMITED = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "sendPhoto",
        "sendDocument",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
    }
)

_background: ContextVar[bool] = ContextVar("teambot_background_send", default=False)


@contextmanager
def background() -> Iterator[None]:
    """Messages sent inside yield to replies (see the module docstring)."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def in_background() -> bool:
    return _background.get()


class _Pace:
    """Generic cell rate algorithm: the earliest moment the next message may go."""

    __slots__ = ("due", "interval", "tolerance")

    def __init__(self, interval: float, burst: int = 1) -> None:
        self.interval = interval
        self.tolerance = interval * (burst - 1)
        self.due = 0.0  # theoretical arrival time of the next message

    def hold(self, until: float) -> None:
        """No message before `until`, and none of a burst right then."""
        self.due = max(self.due, until + self.tolerance)

    def reserve(self, now: float, early: int = 0) -> float:
        """Book the next slot (`early`: that many slots ahead of the pace); returns how long
        to wait for it."""
        wait = max(0.0, self.due - self.tolerance - early * self.interval - now)
        self.due = max(self.due, now) + self.interval
        return wait


class FloodControl:
    def __init__(
        self,
        metrics: Metrics | None = None,
        *,
        per_second: float = GLOBAL_PER_SECOND,
        private_interval: float = PRIVATE_INTERVAL,
        private_burst: int = PRIVATE_BURST,
        group_interval: float = GROUP_INTERVAL,
    ) -> None:
        self._metrics = metrics
        self._global = _Pace(1 / per_second)
        self._private_interval = private_interval
        self._private_burst = private_burst
        self._group_interval = group_interval
        self._chats: dict[int | str, _Pace] = {}
        self._background_turn = anyio.Lock()
        self._held_until = 0.0
        self._departures: deque[float] = deque(maxlen=WINDOW_MESSAGES)

    def hold_until(self, until: float) -> None:
        """Send nothing before `until` (anyio's clock), and then no chat a burst. For an
        instance taking over from another (actors/leadership.py), whose last messages it
        cannot see: once HANDOVER_QUIET has passed since the other last sent, no limit
        remembers them. Each chat's pace starts at `until` too, so the messages held back
        keep their spacing instead of leaving together."""
        self._held_until = max(self._held_until, until)
        self._global.due = max(self._global.due, until)
        for pace in self._chats.values():
            pace.hold(until)

    async def __call__(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if method.__api_method__ in LIMITED:
            # a field's value, without pydantic's slow miss for a method that has none
            await self.wait_turn(method.__dict__.get("chat_id"))
        return await make_request(bot, method)

    async def wait_turn(self, chat_id: int | str | None) -> None:
        started = anyio.current_time()
        if chat_id is not None:
            # a chat's own slots are booked in call order, which keeps its messages in order
            await anyio.sleep(self._chat_pace(chat_id).reserve(started))
        if background_send := _background.get():
            async with self._background_turn:
                await self._take_free_slot()
        else:
            # booked in call order (replies keep theirs), then waited for
            await anyio.sleep(self._global.reserve(anyio.current_time(), early=REPLY_EARLY))
        await self._within_window()
        if self._metrics is not None:
            kind = "background" if background_send else "reply"
            self._metrics.flood_wait_seconds.labels(kind).observe(anyio.current_time() - started)

    async def _within_window(self) -> None:
        departures = self._departures
        while len(departures) == WINDOW_MESSAGES:
            wait = departures[0] + WINDOW_SECONDS - anyio.current_time()
            if wait <= 0:
                break
            await anyio.sleep(wait)
        departures.append(anyio.current_time())

    async def _take_free_slot(self) -> None:
        # books nothing while it waits: a reply that comes meanwhile takes the slot, and
        # this one waits for the next free one
        while True:
            now = anyio.current_time()
            wait = self._global.due - self._global.tolerance - now
            if wait <= 0:
                self._global.reserve(now)
                return
            await anyio.sleep(wait)

    def _chat_pace(self, chat_id: int | str) -> _Pace:
        pace = self._chats.get(chat_id)
        if pace is None:
            if len(self._chats) > 10_000:
                now = anyio.current_time()
                self._chats = {k: p for k, p in self._chats.items() if p.due > now}
            private = isinstance(chat_id, int) and chat_id > 0
            pace = (
                _Pace(self._private_interval, self._private_burst)
                if private
                else _Pace(self._group_interval)
            )
            pace.hold(self._held_until)
            self._chats[chat_id] = pace
        return pace
