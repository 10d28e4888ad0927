"""/saved: the people a person saved from their search cards ([Save] on a card), each with
[Invite] (the invitation flow of /search: a note, then send) and [Remove].

The buttons carry the saver's card reference (teambot/data/search.py), never a Telegram
id; a reference that is not the presser's gets the neutral "This button is no longer
active"."""

from __future__ import annotations

from typing import Literal

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from teambot.adapters.database import Database
from teambot.domain import UserRow
from teambot.routers.context import Registered
from teambot.routers.search import INVITE_ACTIONS, Card, offer_invitation
from teambot.routers.views import ROLE_NAMES, DatabaseKey, tags_line
from teambot.services import saved
from teambot.services.matching import invitation_kind
from teambot.services.saved import SavedList, Saving
from teambot.texts import text
from teambot.utils import escape

router = Router(name="saved")
# a deleted (or never finished) profile's presses fall through to "no longer active"
router.callback_query.filter(Registered())

SAVING = {Saving.SAVED: "saved_added", Saving.ALREADY: "saved_already"}


# one message holds the whole list: each line at most ~180 characters (Telegram takes 4096)
NAME_SHOWN = 40
SKILLS_SHOWN = 3


def _short(name: str) -> str:
    return name if len(name) <= NAME_SHOWN else name[: NAME_SHOWN - 1] + "…"


def _skills(lang: str, skills: list[str]) -> str:
    shown = tags_line(lang, skills[:SKILLS_SHOWN])
    more = len(skills) - SKILLS_SHOWN
    return text(lang, "tags_and_more", tags=shown, more=more) if more > 0 else shown


class SavedAction(CallbackData, prefix="saved"):
    action: Literal["invite", "remove"]
    ref: DatabaseKey  # the viewer's card reference (search_cards), not a Telegram id


def _listing(lang: str, me: UserRow, listing: SavedList) -> tuple[str, InlineKeyboardMarkup | None]:
    if not listing.people:
        return text(lang, "saved_empty"), None
    lines = [text(lang, "saved_title", count=len(listing.people) + listing.more)]
    builder = InlineKeyboardBuilder()
    for n, person in enumerate(listing.people, start=1):
        who = f"<b>{escape(_short(person.team_name or person.display_name))}</b>"
        role = text(lang, ROLE_NAMES[person.user_type])
        lines.append(f"{n}. {who} · {role}: {_skills(lang, person.skills)}")
        kind = invitation_kind(me.user_type or "", person.user_type) or "connect"
        builder.button(
            text=text(lang, "saved_invite", n=str(n), action=text(lang, INVITE_ACTIONS[kind])),
            callback_data=SavedAction(action="invite", ref=person.ref),
        )
        builder.button(
            text=text(lang, "saved_remove", n=str(n)),
            callback_data=SavedAction(action="remove", ref=person.ref),
        )
    if listing.more:
        lines.append(text(lang, "saved_more", count=listing.more))
    builder.adjust(2)
    return "\n".join(lines), builder.as_markup()


@router.callback_query(Card.filter(F.action == "save"))
async def save(
    query: CallbackQuery, callback_data: Card, database: Database, me: UserRow, lang: str
) -> None:
    saving = await saved.save(database, me, callback_data.ref)
    if saving is Saving.STALE:  # not one of this person's cards
        await query.answer(text(lang, "stale_button"))
        return
    await query.answer(text(lang, SAVING[saving]))


@router.message(Command("saved"))
async def show(message: Message, database: Database, me: UserRow, lang: str) -> None:
    if not me.registered:
        await message.answer(text(lang, "register_first"))
        return
    body, markup = _listing(lang, me, await saved.listing(database, me))
    await message.answer(body, reply_markup=markup)


@router.callback_query(SavedAction.filter(F.action == "remove"))
async def remove(
    query: CallbackQuery, callback_data: SavedAction, database: Database, me: UserRow, lang: str
) -> None:
    result = await saved.remove(database, me, callback_data.ref)
    if result is None:
        await query.answer(text(lang, "stale_button"))
        return
    await query.answer(text(lang, "saved_removed" if result.removed else "saved_not_listed"))
    if isinstance(query.message, Message):  # else too old to edit: /saved shows it anew
        body, markup = _listing(lang, me, result.listing)
        await query.message.edit_text(body, reply_markup=markup)


@router.callback_query(SavedAction.filter(F.action == "invite"))
async def invite(
    query: CallbackQuery,
    callback_data: SavedAction,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
) -> None:
    await offer_invitation(query, callback_data.ref, state, database, me, lang, bot)
