"""aiogram's FSM storage on our PostgreSQL, so dialogue state survives restarts.

The writes of one handling are kept aside and stored together when its handler finished,
tagged with the update's id: inside the update's unit of work (actors/outbox.py) they go
with its COMMIT, beside its handled mark and its messages, so a step is taken exactly when
the update's effects commit. Handling that update again finds the tag on its first read and
stops early (`DialogueStepReplayed`). A handler that fails or is cut short stores nothing,
so a retry starts from the same step. Outside a handling (jobs; aiogram's own polling in the
benchmark) each change is stored at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from aiogram.types import Update

from teambot.adapters.database import Database
from teambot.data import fsm


class DialogueStepReplayed(Exception):
    """This update took its dialogue step in an earlier handling."""


@dataclass
class _Handling:
    update_id: int
    dialogues: dict[str, fsm.Dialogue] = field(default_factory=dict)  # as read or changed
    changed: set[str] = field(default_factory=set)


_handling: ContextVar[_Handling | None] = ContextVar("fsm_handling", default=None)


class PostgresStorage(BaseStorage):
    def __init__(self, database: Database) -> None:
        self.database = database
        self.keys = DefaultKeyBuilder(with_destiny=True)

    @asynccontextmanager
    async def handling(self, update_id: int) -> AsyncIterator[None]:
        """Dialogue writes inside the block are stored when it ends without an error."""
        handling = _Handling(update_id)
        token = _handling.set(handling)
        try:
            yield
        finally:
            _handling.reset(token)
        await self._store(handling)

    def key_of(self, dispatcher: Dispatcher, bot: Bot, update: Update) -> str | None:
        """The key of the dialogue aiogram's FSM middleware will read for this update (its
        sender in its chat), so the unit of work can read it ahead, with the sender."""
        context = UserContextMiddleware.resolve_event_context(update)
        if context.chat is None or context.user is None:
            return None
        fsm = dispatcher.fsm.resolve_context(
            bot,
            chat_id=context.chat.id,
            user_id=context.user.id,
            thread_id=context.thread_id,
            business_connection_id=context.business_connection_id,
        )
        return None if fsm is None else self.keys.build(fsm.key)

    def read_ahead(self, key: str, dialogue: fsm.Dialogue) -> None:
        """A dialogue read with the update's first round trip, for the handling under way."""
        handling = _handling.get()
        assert handling is not None
        if _replayed(dialogue, handling):
            raise DialogueStepReplayed
        handling.dialogues[key] = dialogue

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._dialogue(key)).state

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._dialogue(key)).data)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        handling = _handling.get()
        if handling is None:
            await self.database.run(fsm.set_state, self.keys.build(key), value)
            return
        (await self._changing(key, handling)).state = value

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._change_data(key, data, replace=True)

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        return await self._change_data(key, data, replace=False)

    async def close(self) -> None:
        """The pool belongs to the database actor, which closes it."""

    async def _dialogue(self, key: StorageKey) -> fsm.Dialogue:
        handling = _handling.get()
        built = self.keys.build(key)
        if handling is None:
            return await self.database.run(fsm.read, built)
        dialogue = handling.dialogues.get(built)
        if dialogue is None:
            dialogue = await self.database.run(fsm.read, built)
            if _replayed(dialogue, handling):
                raise DialogueStepReplayed
            handling.dialogues[built] = dialogue
        return dialogue

    async def _change_data(
        self, key: StorageKey, data: Mapping[str, Any], *, replace: bool
    ) -> dict[str, Any]:
        handling = _handling.get()
        if handling is None:
            built = self.keys.build(key)
            return await self.database.run(fsm.merge_data, built, dict(data), replace)
        dialogue = await self._changing(key, handling)
        dialogue.data = dict(data) if replace else {**dialogue.data, **data}
        return dict(dialogue.data)

    async def _changing(self, key: StorageKey, handling: _Handling) -> fsm.Dialogue:
        """The dialogue to change in place; stored when the handling ends."""
        dialogue = await self._dialogue(key)
        handling.changed.add(self.keys.build(key))
        return dialogue

    async def _store(self, handling: _Handling) -> None:
        if not handling.changed:
            return
        changed = {key: handling.dialogues[key] for key in handling.changed}
        # inside the update's unit of work: sent with its COMMIT, in the same round trip
        async with self.database.transaction() as transaction:
            transaction.before_commit(fsm.store, changed, handling.update_id)


def _replayed(dialogue: fsm.Dialogue, handling: _Handling) -> bool:
    return dialogue.update_id is not None and dialogue.update_id >= handling.update_id
