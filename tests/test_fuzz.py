"""Fuzz: whatever arrives (any unicode, empty and huge texts, forged and truncated buttons,
unknown update types, messages without a sender, edits, strangers), no handler fails, no
actor restarts, every button press is answered and the data stays whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teambot.runtime import App
from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram

USERS = st.integers(min_value=1, max_value=4)
COMMANDS = [
    "/start", "/start team_abc", "/search", "/search python", "/profile", "/invitations",
    "/team", "/help", "/cancel", "/language", "/stats", "/ban 1", "/unban 1",
    "/saved", "/events", "/event new", "/event", "/start ev_demo-day", "/start ev_",
]  # fmt: skip
REAL_BUTTONS = [
    "lang:en", "lang:ru", "role:team", "role:participant", "role:admin", "tag:python",
    "tag:skills:python", "tag:looking_for:go", "step:done", "step:skills_done",
    "step:looking_for_done", "step:skip", "step:confirm", "step:keep_name", "step:restart",
    "card:connect:2:0", "card:next:2:0", "card:hide:3:0", "card:report:1:0", "note:1",
    "inv:accept:1", "inv:decline:999999", "inv:cancel:-5", "prof:edit", "prof:pause",
    "prof:resume", "prof:delete", "prof:delete_yes", "prof:delete_no", "resume", "mod:ban:2",
    "team:leave", "team:delete", "team:remove:2", "team:transfer:3",
    "card:save:2:0", "saved:invite:1", "saved:remove:1", "still:yes", "still:pause",
    "eva:join:1", "eva:fill:1", "eva:end:1", "evd:starts:0", "evd:ends:7", "evs:4", "evs:0",
    "evp:accept:1", "evp:decline:1", "qf:role", "qf:hours", "qf:remote", "qf:scope",
    "relax:commitment", "relax:language",
]  # fmt: skip

texts = st.one_of(
    st.sampled_from(COMMANDS),
    st.text(max_size=200),
    # Telegram's text is UTF-8: a lone surrogate cannot reach a bot
    st.builds(lambda c, n: c * n, st.characters(codec="utf-8"), st.integers(1000, 4096)),
    st.builds(lambda c, a: f"{c} {a}", st.sampled_from(COMMANDS), st.text(max_size=100)),
)
button_data = st.one_of(
    st.sampled_from(REAL_BUTTONS),
    st.sampled_from(REAL_BUTTONS).flatmap(lambda d: st.integers(0, len(d)).map(lambda i: d[:i])),
    st.text(min_size=1, max_size=64),
)
odd_updates = st.one_of(
    st.fixed_dictionaries({"mystery_update": st.dictionaries(st.text(max_size=5), st.integers())}),
    st.builds(
        lambda chat, text: {  # a channel post: no sender at all
            "channel_post": {"message_id": 1, "date": 0, "text": text,
                             "chat": {"id": -1000 - chat, "type": "channel"}}
        },
        USERS, st.text(max_size=50),
    ),
    st.builds(
        lambda user, text: {  # a message without "from"
            "message": {"message_id": 99, "date": 0, "text": text,
                        "chat": {"id": user, "type": "private"}}
        },
        USERS, st.text(max_size=50),
    ),
    st.builds(
        lambda user, text: {
            "edited_message": {"message_id": 1, "date": 0, "edit_date": 1, "text": text,
                               "from": {"id": user, "is_bot": False, "first_name": "E"},
                               "chat": {"id": user, "type": "private"}}
        },
        USERS, st.text(max_size=50),
    ),
)  # fmt: skip
actions = st.lists(
    st.one_of(
        st.tuples(st.just("text"), USERS, texts, st.sampled_from(["en", "ru", None])),
        st.tuples(st.just("press"), USERS, st.integers(0, 40), button_data),
        st.tuples(st.just("raw"), USERS, odd_updates),
    ),
    min_size=1,
    max_size=25,
)


@pytest.fixture
def bot(telegram: FakeTelegram, database_url: str) -> Iterator[App]:
    """One bot for every example: a fresh one per example would take seconds each."""
    bot_settings = make_settings(
        telegram, database_url, rate_limit_requests_per_minute=100, admin_ids="4"
    )  # user 4 moderates and organizes: the admin-only commands and buttons are fuzzed too
    with (
        anyio.from_thread.start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(running(bot_settings)) as app,
    ):
        yield app


def total(app: App, counter: str) -> float:
    """A counter summed over its labels."""
    return sum(
        sample.value
        for family in app.metrics.registry.collect()
        if family.name == counter
        for sample in family.samples
        if sample.name == f"{counter}_total"
    )


# the bot's own thread draws retry jitter from `random` while examples are generated
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(batch=actions)
def test_any_input_is_handled_without_failures(
    bot: App, telegram: FakeTelegram, database_url: str, batch: list[tuple[Any, ...]]
) -> None:
    last = 0
    for action in batch:
        if action[0] == "text":
            _, user, body, lang = action
            last = telegram.send_text(user, body, language_code=lang)
        elif action[0] == "press":
            _, user, message_id, data = action
            last = telegram.press_button(user, message_id, data)
        else:
            last = telegram.enqueue_raw(action[2])
    telegram.wait_confirmed_sync(last, timeout=60)
    assert total(bot, "teambot_updates_failed") == 0
    assert total(bot, "teambot_actor_restarts") == 0
    assert telegram.unanswered_callbacks == [], "a button press was left spinning"
    with psycopg.connect(database_url) as conn:
        broken = conn.execute(
            "select count(*) from users where registered_at is not null"
            " and (user_type is null or display_name = '')"
        ).fetchone()
        orphans = conn.execute(
            "select count(*) from teams t where not exists"
            " (select 1 from team_members m where m.team_id = t.id and m.user_id = t.owner_id)"
        ).fetchone()
    assert broken == (0,)
    assert orphans == (0,)
