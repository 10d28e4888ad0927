"""aiogram's routing, without awaiting filters whose refusal can be foreseen.

aiogram passes an update to the first handler whose filters all accept it, checking the
handlers in the order the routers were included and each handler's filters in order,
stopping at the first refusal. A `/help` passes about thirty handlers before its own, each
check an await of a filter through aiogram's call machinery (bench.capacity: a fifth of
the bot's CPU per update). Most handlers start with a filter whose verdict a plain
comparison foresees: a dialogue state, a command, a button's prefix. `_trigger` passes over
a handler when one of its leading filters of those kinds would refuse the event, and checks
the others exactly as aiogram does; the handler chosen is the same
(tests/test_aiogram_patches.py compares the two verdicts on every handler of every
router).

The same foresight passes over whole routers: aiogram enters each router in turn (its
root filters, a handful of calls copying the update's data each time) before it looks at
a handler. `_propagate_event` does not enter a router none of whose handlers (nor its
sub-routers') could take the event, unless the router wraps the event in an outer
middleware of its own, which runs whatever the handlers decide.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message, TelegramObject

# True when the filter would surely refuse the event (given the handler's data so far)
Refusal = Callable[[TelegramObject, dict[str, Any]], bool]


def patch() -> None:
    TelegramEventObserver.trigger = _trigger  # type: ignore[method-assign]
    Router._propagate_event = _propagate_event  # type: ignore[method-assign]


async def _propagate_event(
    self: Router,
    observer: TelegramEventObserver | None,
    update_type: str,
    event: TelegramObject,
    **kwargs: Any,
) -> Any:
    """`Router._propagate_event` (aiogram 3), passing over sub-routers that would refuse."""
    response = UNHANDLED
    if observer:
        result, data = await observer.check_root_filters(event, **kwargs)
        if not result:
            return UNHANDLED
        kwargs.update(data)
        response = await observer.trigger(event, **kwargs)
        if response is REJECTED:
            return UNHANDLED
        if response is not UNHANDLED:
            return response
    for router in self.sub_routers:
        if _router_refuses(router, update_type, event, kwargs):
            continue
        response = await router.propagate_event(update_type=update_type, event=event, **kwargs)
        if response is not UNHANDLED:
            break
    return response


def _router_refuses(
    router: Router, update_type: str, event: TelegramObject, data: dict[str, Any]
) -> bool:
    """True when the router surely hands the event back unhandled: no outer middleware of
    its own for it, and each handler of its own and of its sub-routers has a leading filter
    that refuses it."""
    observer = router.observers.get(update_type)
    if observer is None:
        return False  # an update type aiogram does not know: its own error, as before
    if observer.outer_middleware or not _handlers_refuse(observer, event, data):
        return False
    return all(_router_refuses(sub, update_type, event, data) for sub in router.sub_routers)


# _handlers_refuse's verdicts, by observer and what the foreseeable filters read of an event
_verdicts: dict[tuple[TelegramEventObserver, int, Hashable], bool] = {}
_VERDICTS_KEPT = 4096
_separators: set[str] = set()  # of the callback data the foreseeable filters look for


def _handlers_refuse(
    observer: TelegramEventObserver, event: TelegramObject, data: dict[str, Any]
) -> bool:
    """Each of the observer's handlers has a leading filter that refuses the event. The
    same command, button kind and dialogue state get the same verdict: it is kept rather
    than worked out again over every handler of every router passed."""
    aspect = _aspect(event, data)
    if aspect is None:
        return _each_refuses(observer, event, data)
    key = (observer, len(observer.handlers), aspect)
    verdict = _verdicts.get(key)
    if verdict is None:
        if len(_verdicts) >= _VERDICTS_KEPT:
            _verdicts.clear()  # typed words as commands ("/xyz") keep coming; verdicts don't
        verdict = _verdicts[key] = _each_refuses(observer, event, data)
    return verdict


def _each_refuses(
    observer: TelegramEventObserver, event: TelegramObject, data: dict[str, Any]
) -> bool:
    return all(
        any(refuses(event, data) for refuses in _leading_refusals(handler))
        for handler in observer.handlers
    )


def _aspect(event: TelegramObject, data: dict[str, Any]) -> Hashable | None:
    """Everything the foreseeable filters read of an event (the refusals below), or None
    when that is not known."""
    state = data.get("raw_state")
    if isinstance(event, Message):
        words = (event.text or event.caption or "").split(maxsplit=1)
        if not words:
            return ("message", state)
        return ("message", state, words[0][0], words[0][1:].partition("@")[0])
    if isinstance(event, CallbackQuery) and _separators <= {":"}:
        return ("press", state, (event.data or "").partition(":")[0])
    return None


async def _trigger(self: TelegramEventObserver, event: TelegramObject, **kwargs: Any) -> Any:
    """`TelegramEventObserver.trigger` (aiogram 3), passing over handlers that a leading
    filter would refuse."""
    for handler in self.handlers:
        if any(refuses(event, kwargs) for refuses in _leading_refusals(handler)):
            continue
        kwargs["handler"] = handler
        result, data = await handler.check(event, **kwargs)
        if result:
            kwargs.update(data)
            try:
                wrapped_inner = self.outer_middleware.wrap_middlewares(
                    self._resolve_middlewares(), handler.call
                )
                return await wrapped_inner(event, kwargs)
            except SkipHandler:
                continue
    return UNHANDLED


def _leading_refusals(handler: HandlerObject) -> tuple[Refusal, ...]:
    """The foreseeable filters the handler starts with, up to its first other filter (found
    once per handler: aiogram's handlers do not change once registered)."""
    known: tuple[Refusal, ...] | None = handler.__dict__.get("_teambot_refusals")
    if known is None:
        refusals = []
        for event_filter in handler.filters or ():
            refusal = _refusal(event_filter)
            if refusal is None:
                break
            refusals.append(refusal)
        known = handler.__dict__["_teambot_refusals"] = tuple(refusals)
    return known


def _refusal(event_filter: FilterObject) -> Refusal | None:
    callback = event_filter.callback
    if isinstance(callback, State) and callback.state != "*":
        return partial(_refuses_state, callback.state)
    if isinstance(callback, Command) and all(isinstance(c, str) for c in callback.commands):
        return partial(_refuses_command, callback)
    if isinstance(callback, CallbackQueryFilter):
        _separators.add(callback.callback_data.__separator__)
        return partial(_refuses_press, callback.callback_data)
    return None


def _refuses_state(state: str | None, event: TelegramObject, data: dict[str, Any]) -> bool:
    # as State.__call__
    return data.get("raw_state") != state


def _refuses_command(command: Command, event: TelegramObject, data: dict[str, Any]) -> bool:
    # as Command.__call__: extract_command, validate_prefix, validate_command (a mention
    # that is not the bot's refuses too, but asks Telegram who the bot is: left to aiogram)
    if not isinstance(event, Message):
        return True
    words = (event.text or event.caption or "").split(maxsplit=1)
    if not words:
        return True
    name = words[0][1:].partition("@")[0]
    if command.ignore_case:
        name = name.casefold()
    return words[0][0] not in command.prefix or name not in command.commands


def _refuses_press(kind: type[CallbackData], event: TelegramObject, data: dict[str, Any]) -> bool:
    # as CallbackQueryFilter.__call__ and CallbackData.unpack: the data's prefix
    if not isinstance(event, CallbackQuery) or not event.data:
        return True
    return event.data.partition(kind.__separator__)[0] != kind.__prefix__
