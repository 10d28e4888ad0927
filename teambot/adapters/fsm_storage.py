"""aiogram's FSM storage on our PostgreSQL, so dialogue state survives restarts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey

from teambot.adapters.database import Database
from teambot.data import fsm


class PostgresStorage(BaseStorage):
    def __init__(self, database: Database) -> None:
        self.database = database
        self.keys = DefaultKeyBuilder(with_destiny=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self.database.run(fsm.set_state, self.keys.build(key), value)

    async def get_state(self, key: StorageKey) -> str | None:
        return await self.database.run(fsm.get_state, self.keys.build(key))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self.database.run(fsm.set_data, self.keys.build(key), data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self.database.run(fsm.get_data, self.keys.build(key))

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        return await self.database.run(fsm.merge_data, self.keys.build(key), data)

    async def close(self) -> None:
        """The pool belongs to the database actor, which closes it."""
