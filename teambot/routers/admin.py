"""Admin commands (/stats, /ban, /unban, /dashboard) and the Ban button on reports. Only
ADMIN_IDS get here: for anyone else these commands are unknown and the buttons stale (the
fallback)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    TelegramObject,
    WebAppInfo,
)
from loguru import logger

from teambot import notices
from teambot.adapters.database import Database
from teambot.config import Settings
from teambot.routers.views import Moderate
from teambot.services import dashboard, moderation
from teambot.services.moderation import Outcome
from teambot.texts import text

log = logger.bind(actor="admin")
router = Router(name="admin")


class IsAdmin(Filter):
    async def __call__(self, event: TelegramObject, settings: Settings) -> bool:
        sender = getattr(event, "from_user", None)
        return sender is not None and sender.id in settings.admin_ids


router.message.filter(IsAdmin())
router.callback_query.filter(IsAdmin())


_BAN_TEXTS = {
    Outcome.DONE: "banned_done",
    Outcome.UNCHANGED: "already_banned",
    Outcome.NO_SUCH_USER: "admin_no_user",
    Outcome.REFUSED: "admin_cannot_ban_admin",
}
_UNBAN_TEXTS = {
    Outcome.DONE: "unbanned_done",
    Outcome.UNCHANGED: "not_banned",
    Outcome.NO_SUCH_USER: "admin_no_user",
}


def _target(command: CommandObject) -> int | None:
    args = (command.args or "").strip()
    return int(args) if args.isdigit() and len(args) <= 19 else None


@router.message(Command("stats"))
async def stats(message: Message, database: Database, lang: str) -> None:
    await message.answer(text(lang, "stats", **await moderation.stats(database)))


@router.message(Command("dashboard"))
async def dashboard_link(message: Message, settings: Settings, lang: str) -> None:
    url, secret = settings.dashboard_url, settings.dashboard_secret
    if url is None or secret is None or message.from_user is None:
        await message.answer(text(lang, "dashboard_not_configured"))
        return
    link = dashboard.login_link(
        url, secret.get_secret_value(), settings.admin_ids, message.from_user.id, lang
    )
    log.info("admin {} asked for a dashboard link", message.from_user.id)
    # Behind https the page also opens inside Telegram, as a Mini App (Telegram allows
    # only https there)
    app = None
    if url.startswith("https://"):
        button = InlineKeyboardButton(
            text=text(lang, "dashboard_open_app"), web_app=WebAppInfo(url=f"{url}/app")
        )
        app = InlineKeyboardMarkup(inline_keyboard=[[button]])
    # no preview: a preview would fetch the link (its page keeps it unused, but why show it)
    await message.answer(
        text(lang, "dashboard_link", url=link),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_markup=app,
    )


@router.message(Command("ban"))
async def ban(
    message: Message,
    command: CommandObject,
    database: Database,
    settings: Settings,
    bot: Bot,
    lang: str,
) -> None:
    target = _target(command)
    if target is None:
        await message.answer(text(lang, "ban_usage"))
        return
    outcome = await _ban(bot, database, settings, message.chat.id, target)
    await message.answer(text(lang, _BAN_TEXTS[outcome], id=str(target)))


@router.message(Command("unban"))
async def unban(message: Message, command: CommandObject, database: Database, lang: str) -> None:
    target = _target(command)
    if target is None:
        await message.answer(text(lang, "unban_usage"))
        return
    outcome = await moderation.unban(database, target)
    if outcome is Outcome.DONE:
        log.info("admin {} unbanned user {}", message.chat.id, target)
    await message.answer(text(lang, _UNBAN_TEXTS[outcome], id=str(target)))


@router.callback_query(Moderate.filter(F.action == "ban"))
async def ban_button(
    query: CallbackQuery,
    callback_data: Moderate,
    database: Database,
    settings: Settings,
    bot: Bot,
    lang: str,
) -> None:
    outcome = await _ban(bot, database, settings, query.from_user.id, callback_data.target)
    await query.answer(
        text(lang, _BAN_TEXTS[outcome], id=str(callback_data.target)), show_alert=True
    )
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


async def _ban(
    bot: Bot, database: Database, settings: Settings, admin: int, target: int
) -> Outcome:
    banned = await moderation.ban(database, target, settings.admin_ids)
    if banned.outcome is Outcome.DONE:
        log.info("admin {} banned user {}", admin, target)
    await notices.close_keyboards(bot, database, banned.messages)
    if banned.departure is not None and banned.person is not None:
        await notices.announce_departure(bot, banned.departure, banned.person)
    return banned.outcome
