"""The bridge from the dispatch actor to aiogram: handle one update, or apologise for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any, cast

from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import BotCommand, BotCommandScopeDefault, CallbackQuery, TelegramObject, Update
from loguru import logger
from pydantic import ValidationError

from teambot.actors.matcher import Matcher
from teambot.actors.outbox import AlreadyHandled, Outbox
from teambot.actors.pipeline.reads import FirstReads
from teambot.actors.pipeline.work import PressAnswer, Throttled, Work
from teambot.adapters.database import CONFLICT_ERRORS, INVALID_VALUE_ERRORS, Database
from teambot.adapters.fsm_storage import DialogueStepReplayed, PostgresStorage
from teambot.adapters.telegram import feed_update
from teambot.config import Settings
from teambot.data import updates
from teambot.domain import UserRow
from teambot.routers import fallback_router, feature_routers
from teambot.routers.context import PrivateChatsOnly, UserContext
from teambot.texts import LANGUAGES, language_from_code, text

log = logger.bind(actor="dispatch")


def build_dispatcher(
    database: Database, settings: Settings, matcher: Matcher, *extra_routers: Router
) -> Dispatcher:
    # no event isolation: the dispatch actor already runs one user's updates one at a time
    dispatcher = Dispatcher(
        storage=PostgresStorage(database), database=database, settings=settings, matcher=matcher
    )
    # first: nothing of a group chat reaches the database or a router
    private = PrivateChatsOnly(frozenset({*COMMANDS, *ADMIN_COMMANDS}))
    context = UserContext()
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(private)
        observer.outer_middleware(context)
    dispatcher.callback_query.outer_middleware(RefuseInvalidPresses())
    routers = [*feature_routers(), *extra_routers, fallback_router()]
    for router in routers:
        _detach(router)
    dispatcher.include_routers(*routers)
    return dispatcher


def _detach(router: Router) -> None:
    """Routers are module-level and attach to one parent; a process that builds a second
    dispatcher (tests, a supervised rebuild) moves them to the new one."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None


INVALID_PRESS: tuple[type[BaseException], ...] = (*INVALID_VALUE_ERRORS, ValidationError)


class PressRefused(Exception):
    """A press was refused as forged or stale: its unit of work is rolled back, and the
    press gets the neutral answer (in `language`) after that."""

    def __init__(self, language: str) -> None:
        self.language = language


class RefuseInvalidPresses(BaseMiddleware):
    """A safety net under every button: data no button of ours carries (a number out of
    range, a row that does not exist) that got past a router's bounds is a forged or stale
    press, and gets the fallback's neutral answer instead of an apology for a bug."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except INVALID_PRESS as exc:
            if not isinstance(event, CallbackQuery):
                raise
            log.warning(
                "button {!r} from user {} refused: {!r}",
                (event.data or "")[:64],
                event.from_user.id,
                exc,
            )
            raise PressRefused(data["lang"]) from None


class RecordPressAnswers:
    """Session middleware: notes whether the button press being handled got its answer.

    Telegram takes one answerCallbackQuery per press and refuses a second (a refusal
    IgnoreHarmlessRefusals, further out, turns into success). Innermost, so it sees each
    attempt's own outcome."""

    async def __call__(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        current = _press.get()
        if (
            current is None
            or not isinstance(method, AnswerCallbackQuery)
            or method.callback_query_id != current[0]
        ):
            return await make_request(bot, method)
        press = current[1]
        try:
            result = await make_request(bot, method)
        except TelegramBadRequest as exc:
            if "query is too old" in exc.message:  # also what a second answer gets
                press.refused = True
            raise
        press.answered = True
        return result


_press: ContextVar[tuple[str, PressAnswer] | None] = ContextVar("teambot_press", default=None)


@contextmanager
def _tracking(work: Work) -> Iterator[CallbackQuery | None]:
    """Answers to the work's button press (if it is one) are noted in work.press."""
    update = work.update
    query = update.callback_query if update is not None else None
    if query is None:
        yield None
        return
    token = _press.set((query.id, work.press))
    try:
        yield query
    finally:
        _press.reset(token)


class UpdateHandler:
    def __init__(self, bot: Bot, dispatcher: Dispatcher, outbox: Outbox, reads: FirstReads) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.outbox = outbox
        self.reads = reads
        self.storage = cast(PostgresStorage, dispatcher.storage)  # build_dispatcher's
        bot.session.middleware(RecordPressAnswers())

    def know_username(self, username: str | None) -> None:
        self.dispatcher["bot_username"] = username

    def _language(self, work: Work) -> str:
        return language_from_code(work.user.language_code if work.user else None)

    async def handle(self, work: Work) -> None:
        """The update's unit of work: its reads and writes, its dialogue step, its handled
        mark and its messages commit together; then the messages go out, replies first."""
        update = work.update
        if update is None:
            return
        if work.throttled is not None:
            await self._tell_throttled(work, work.throttled)
            return
        with _tracking(work) as query:
            try:
                try:
                    await self._unit(work, update, read_ahead=True)
                except CONFLICT_ERRORS:
                    log.debug("update {}: its first read was out of date", update.update_id)
                    self.reads.out_of_date()
                    await self._unit(work, update, read_ahead=False)
                work.handled.marked = True
            except (DialogueStepReplayed, AlreadyHandled):
                # its effects (and its handled mark) committed when it was handled before
                work.handled.marked = True
                log.info("update {} was handled before; not again", update.update_id)
                return
            except PressRefused as refused:
                if query is not None and work.press.open:
                    await self.bot.answer_callback_query(
                        query.id, text(refused.language, "stale_button")
                    )
                return
            if query is not None and work.press.open:
                # nothing answered it (a banned user's press): stop the spinner at least
                log.debug("press in update {} was not answered; answering", update.update_id)
                await self.bot.answer_callback_query(query.id)

    async def _unit(self, work: Work, update: Update, *, read_ahead: bool) -> None:
        async with (
            self.outbox.unit(update_id=update.update_id),
            self.storage.handling(update.update_id),
        ):
            sender = await self._begin(work, read_ahead=read_ahead)
            await feed_update(self.dispatcher, self.bot, update, sender=sender)

    async def _begin(self, work: Work, *, read_ahead: bool) -> UserRow | None:
        """The sender (created or marked seen) and their dialogue, for a person writing in
        their private chat; the rest of the update uses both. Read ahead of the update's
        transaction (reads.py) and confirmed with its BEGIN, or read inside it."""
        update, user = work.update, work.user
        chat = _chat_of(update)
        if update is None or user is None or user.is_bot or chat != user.id:
            return None  # a group chat stores nothing; UserContext turns bots away
        key = self.storage.key_of(self.dispatcher, self.bot, update)
        if key is None:
            return None
        sender = updates.Sender(user.id, key, user.username, user.first_name, user.last_name)
        database = self.storage.database
        unit = database.current()
        assert unit is not None  # _unit's
        first = await self.reads.read(sender) if read_ahead else None
        if first is not None:
            unit.on_begin(updates.confirm, sender, first)
        if first is None or first.me is None:
            language = language_from_code(user.language_code)
            first = await database.run(updates.begin, sender, language=language, first=first)
        if first.out_of_date:
            unit.before_commit(updates.refresh, sender)
        self.storage.read_ahead(key, first.dialogue)
        return first.me

    async def _tell_throttled(self, work: Work, throttled: Throttled) -> None:
        if not throttled.tell or work.user is None:
            return
        update = work.update
        query = update.callback_query if update is not None else None
        # the wait as it stands now, however long this notice took to get here
        notice = text(self._language(work), "throttled", seconds=throttled.seconds_left())
        if query is not None:
            await self.bot.answer_callback_query(query.id, notice)
            return
        # TelegramForbiddenError: wrote in a group, never opened the private chat
        with suppress(TelegramForbiddenError):
            await self.bot.send_message(work.user.id, notice)

    async def on_failure(self, work: Work) -> None:
        """Tell the user, briefly, that their last action did not go through: as the answer
        to their button press while the press still takes one, else as a message."""
        update = work.update
        if update is None or work.user is None:
            return
        message = text(self._language(work), "failed")
        with _tracking(work) as query:
            if query is not None and work.press.open:
                await self.bot.answer_callback_query(query.id, message)
                if work.press.answered:
                    return
        if query is not None:
            chat = query.message.chat.id if query.message is not None else query.from_user.id
            await self.bot.send_message(chat, message)
        elif update.message is not None:
            await self.bot.send_message(update.message.chat.id, message)


def _chat_of(update: Update | None) -> int | None:
    if update is None:
        return None
    if update.message is not None:
        return update.message.chat.id
    query = update.callback_query
    if query is not None and query.message is not None:
        return query.message.chat.id
    return None


ADMIN_COMMANDS = ("stats", "ban", "unban", "event", "broadcast", "dashboard")  # not in the menu
COMMANDS = {
    "start": "cmd_start",
    "search": "cmd_search",
    "profile": "cmd_profile",
    "invitations": "cmd_invitations",
    "saved": "cmd_saved",
    "team": "cmd_team",
    "events": "cmd_events",
    "language": "cmd_language",
    "help": "cmd_help",
    "cancel": "cmd_cancel",
}


async def publish_commands(bot: Bot) -> None:
    """The command menu, in each language the bot speaks."""
    for language in LANGUAGES:
        commands = [
            BotCommand(command=name, description=text(language, key))
            for name, key in COMMANDS.items()
        ]
        await bot.set_my_commands(
            commands,
            scope=BotCommandScopeDefault(),
            language_code=None if language == "en" else language,
        )
