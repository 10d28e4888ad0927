"""The bridge from the dispatch actor to aiogram: handle one update, or apologise for it."""

from __future__ import annotations

from typing import cast

from aiogram import Bot, Dispatcher, Router
from aiogram.types import BotCommand, BotCommandScopeDefault
from loguru import logger

from teambot.actors.matcher import Matcher
from teambot.actors.work import Work
from teambot.adapters.database import Database
from teambot.adapters.fsm_storage import DialogueStepReplayed, PostgresStorage
from teambot.adapters.telegram import feed_update
from teambot.config import Settings
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


class UpdateHandler:
    def __init__(self, bot: Bot, dispatcher: Dispatcher) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.storage = cast(PostgresStorage, dispatcher.storage)  # build_dispatcher's

    def know_username(self, username: str | None) -> None:
        self.dispatcher["bot_username"] = username

    def _language(self, work: Work) -> str:
        return language_from_code(work.user.language_code if work.user else None)

    async def handle(self, work: Work) -> None:
        update = work.update
        if update is None:
            return
        if work.throttled:
            if work.retry_in is not None and work.user is not None:
                await self.bot.send_message(
                    work.user.id, text(self._language(work), "throttled", seconds=work.retry_in)
                )
            return
        try:
            async with self.storage.handling(update.update_id):
                await feed_update(self.dispatcher, self.bot, update)
        except DialogueStepReplayed:
            # its answers went out when it was handled before a restart
            log.info("update {} took its dialogue step before; not again", update.update_id)

    async def on_failure(self, work: Work) -> None:
        """Tell the user, briefly, that their last action did not go through."""
        update = work.update
        if update is None or work.user is None:
            return
        message = text(self._language(work), "failed")
        if update.callback_query is not None:
            await self.bot.answer_callback_query(update.callback_query.id, message)
        elif update.message is not None:
            await self.bot.send_message(update.message.chat.id, message)


ADMIN_COMMANDS = ("stats", "ban", "unban")  # not in the menu
COMMANDS = {
    "start": "cmd_start",
    "search": "cmd_search",
    "profile": "cmd_profile",
    "invitations": "cmd_invitations",
    "team": "cmd_team",
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
