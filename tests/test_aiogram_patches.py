"""What teambot changes in aiogram at start (adapters/telegram.py's patch_aiogram) changes
its cost, not its behaviour."""

from __future__ import annotations

import ast
import gc
import hashlib
import importlib
import inspect
import itertools
import weakref
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State
from aiogram.methods.base import Response
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from teambot.adapters import routing
from teambot.adapters.telegram import GetRawUpdates, patch_aiogram
from teambot.routers import fallback_router, feature_routers

PERSON = User(id=7, is_bot=False, first_name="Ann")
ME = User(id=1, is_bot=True, first_name="Teambot", username="teambot_test_bot")


def every_router() -> list[Router]:
    return [*feature_routers(), fallback_router()]


def every_filter() -> list[FilterObject]:
    return [
        event_filter
        for router in every_router()
        for observer in (router.message, router.callback_query)
        for handler in observer.handlers
        for event_filter in handler.filters or ()
    ]


def messages() -> list[Message]:
    """Every command the routers know, as people type them and mistype them, and text."""
    names = {
        name
        for f in every_filter()
        if isinstance(f.callback, Command)
        for name in f.callback.commands
        if isinstance(name, str)
    }
    texts = [
        variant
        for name in sorted(names)
        for variant in (
            f"/{name}",
            f"/{name} some args",
            f"/{name.upper()}",
            f"/{name}@{ME.username}",
            f"/{name}@other_bot",
            f"!{name}",
            f"/{name}x",
        )
    ]
    texts += ["hello", "", "   ", "/", "/unknown", "/start join-1", "/start event-2", "привет"]
    chat = Chat(id=PERSON.id, type="private")
    now = datetime.now(UTC)
    found = [
        Message(message_id=n, date=now, chat=chat, from_user=PERSON, text=text or None)
        for n, text in enumerate(texts)
    ]
    found.append(Message(message_id=0, date=now, chat=chat, from_user=PERSON, caption="/help"))
    return found


def presses() -> list[CallbackQuery]:
    """A press of every kind of button the routers know, and data no button carries."""
    kinds = {
        f.callback.callback_data
        for f in every_filter()
        if isinstance(f.callback, CallbackQueryFilter)
    }
    data = [
        value
        for kind in sorted(kinds, key=lambda k: k.__prefix__)
        for value in (
            f"{kind.__prefix__}{kind.__separator__}1",
            kind.__prefix__,
            f"{kind.__prefix__}x:1",
        )
    ]
    data += ["", "nonsense", ":"]
    return [
        CallbackQuery(id=str(n), from_user=PERSON, chat_instance="c", data=value or None)
        for n, value in enumerate(data)
    ]


def states() -> list[str | None]:
    found = {f.callback.state for f in every_filter() if isinstance(f.callback, State)}
    return [None, *sorted(s for s in found if s is not None), "elsewhere:unknown"]


async def aiogram_refuses(
    event_filter: FilterObject, event: TelegramObject, data: dict[str, Any]
) -> bool:
    return not await event_filter.call(event, **data)


@pytest.mark.anyio
async def test_a_handler_is_passed_over_only_when_aiogram_would_refuse_it() -> None:
    """For every handler of every router, every command, button and dialogue state: when
    the routing patch passes a handler over, aiogram's own check of the same filters refuses
    it too. So the handler that takes an update is the one aiogram would choose."""
    patch_aiogram()
    bot = Bot("42:TEST")
    bot._me = ME  # what Command asks Telegram about a mention
    passed_over = checked = 0
    try:
        for router in every_router():
            for observer, events in (
                (router.message, messages()),
                (router.callback_query, presses()),
            ):
                for handler, event, raw_state in itertools.product(
                    observer.handlers, events, states()
                ):
                    data = {"raw_state": raw_state, "bot": bot, "event_from_user": PERSON}
                    refusals = routing._leading_refusals(handler)
                    leading = (handler.filters or [])[: len(refusals)]
                    for refuses, event_filter in zip(refusals, leading, strict=True):
                        checked += 1
                        if refuses(event, data):
                            passed_over += 1
                            assert await aiogram_refuses(event_filter, event, data), (
                                f"{router.name}: {handler.callback.__name__} passed over for"
                                f" {event!r} in state {raw_state!r}, which aiogram accepts"
                            )
    finally:
        await bot.session.close()
    assert passed_over > 1000 and checked > passed_over  # the comparison covered something


@pytest.mark.anyio
async def test_a_handler_aiogram_accepts_is_never_passed_over() -> None:
    """The other way round for the filters whose verdict the patch foresees exactly: a
    dialogue state, a command's name, a button's prefix."""
    patch_aiogram()
    bot = Bot("42:TEST")
    bot._me = ME
    try:
        for event_filter in every_filter():
            refusal = routing._refusal(event_filter)
            if refusal is None:
                continue
            events: list[TelegramObject] = [*messages(), *presses()]
            for event, raw_state in itertools.product(events, states()):
                data = {"raw_state": raw_state, "bot": bot, "event_from_user": PERSON}
                if not await aiogram_refuses(event_filter, event, data):
                    assert not refusal(event, data), f"{event_filter.callback!r} for {event!r}"
    finally:
        await bot.session.close()


@pytest.mark.anyio
async def test_a_router_is_passed_over_only_when_none_of_its_handlers_would_take_the_event() -> (
    None
):
    """Every router, every command, button and dialogue state: when the patch does not enter
    a router, aiogram's own check of each of its handlers (and its sub-routers') refuses the
    event. A router with an outer middleware of its own is always entered."""
    patch_aiogram()
    bot = Bot("42:TEST")
    bot._me = ME
    parent = Router(name="parent")
    child = Router(name="child")
    parent.include_router(child)
    child.message(Command("help"))(lambda message: None)
    passed_over = entered = 0
    try:
        for router in [*every_router(), parent]:
            for update_type, events in (("message", messages()), ("callback_query", presses())):
                for event, raw_state in itertools.product(events, states()):
                    data = {"raw_state": raw_state, "bot": bot, "event_from_user": PERSON}
                    if not routing._router_refuses(router, update_type, event, data):
                        entered += 1
                        continue
                    passed_over += 1
                    for each in [router, *router.sub_routers]:
                        for handler in each.observers[update_type].handlers:
                            accepted, _ = await handler.check(event, **data)
                            assert not accepted, f"{each.name} passed over for {event!r}"
        help_, hello = (next(m for m in messages() if m.text == t) for t in ("/help", "hello"))
        data = {"raw_state": None, "bot": bot, "event_from_user": PERSON}
        assert routing._router_refuses(parent, "message", hello, data)
        assert not routing._router_refuses(parent, "message", help_, data)

        async def outer(handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
            return await handler(event, data)

        parent.message.outer_middleware(outer)
        assert not routing._router_refuses(parent, "message", hello, data)
    finally:
        await bot.session.close()
    assert passed_over > 1000 and entered > 100


def test_the_response_model_of_every_method_the_bot_calls_is_built_once() -> None:
    """pydantic keeps parametrized models only weakly; aiogram asks for `Response[T]` at
    every answer from Telegram. Building one takes milliseconds."""
    patch_aiogram()
    for returning in (GetRawUpdates.__returning__, Message, bool):
        model = weakref.ref(Response[returning])  # type: ignore[valid-type]
        gc.collect()
        assert model() is not None, f"Response[{returning}] was dropped"


# aiogram's code that patch_aiogram replaces with copies of its own (teambot/adapters/
# telegram.py, routing.py), as of aiogram 3.31: module, class, function, a hash of its syntax
# tree (formatting and line numbers left out).
REPLACED = [
    ("aiogram.dispatcher.event.telegram", "TelegramEventObserver", "trigger", "71110645a1ce2db5"),
    ("aiogram.dispatcher.router", "Router", "_propagate_event", "4cf5a69ea110ec0d"),
    (
        "aiogram.dispatcher.middlewares.manager",
        "MiddlewareManager",
        "wrap_middlewares",
        "f704d00806ec7de9",
    ),
    ("aiogram.dispatcher.event.handler", "CallableObject", "call", "649dc320e302e446"),
]


@pytest.mark.parametrize(("module", "owner", "name", "known"), REPLACED)
def test_the_aiogram_code_teambot_replaces_is_the_code_its_copies_were_made_from(
    module: str, owner: str, name: str, known: str
) -> None:
    """pyproject allows any aiogram 3: a release that changes one of these functions fails
    here, so that the copy in teambot/adapters is compared with it, not left to diverge."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    found = [
        function
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == owner
        for function in node.body
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and function.name == name
    ]
    assert len(found) == 1, f"aiogram has no {owner}.{name} any more"
    digest = hashlib.sha256(ast.dump(found[0]).encode()).hexdigest()[:16]
    assert digest == known, (
        f"aiogram changed {owner}.{name}: compare teambot's copy with it, then update the hash"
    )
