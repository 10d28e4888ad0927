"""The fake Bot API server itself, driven over real HTTP with httpx."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from tests.fake_telegram import DEFAULT_TOKEN, NOT_MODIFIED, QUERY_INVALID, FakeTelegram

KEYBOARD = {
    "inline_keyboard": [
        [{"text": "Yes", "callback_data": "y"}, {"text": "No", "callback_data": "n"}]
    ]
}


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def api(tg: FakeTelegram) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{tg.api_url}/bot{tg.token}/", timeout=10) as client:
        yield client


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True, body
    return body["result"]


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert response.status_code == status, body
    assert body["ok"] is False and body["error_code"] == status
    return body


def send(api: httpx.Client, chat_id: int, text: str, **extra: Any) -> httpx.Response:
    fields = {"chat_id": str(chat_id), "text": text}
    fields.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()})
    return api.post("sendMessage", data=fields)


# --- basics --------------------------------------------------------------------------------


def test_get_me_token_and_unknown_methods(tg: FakeTelegram, api: httpx.Client) -> None:
    assert tg.token == DEFAULT_TOKEN
    assert tg.api_url == f"http://127.0.0.1:{tg.port}"
    me = ok(api.get("getMe"))
    assert me["id"] == 123456789 and me["is_bot"] and me["username"] == "teambot_test_bot"
    assert ok(api.post("GETME"))["id"] == me["id"]  # method names are case-insensitive

    wrong = httpx.post(f"{tg.api_url}/bot123456789:wrong/getMe")
    assert error(wrong, 401)["description"] == "Unauthorized"
    assert error(api.post("sendPhoto"), 404)["description"] == "Not Found"
    assert error(httpx.get(f"{tg.api_url}/file/bot{tg.token}/photos/1.jpg"), 404)
    assert [(c.method, c.status) for c in tg.calls] == [
        ("getMe", 200),
        ("getMe", 200),
        ("getMe", 401),
        ("sendPhoto", 404),
    ]
    assert len(tg.calls_of("GetMe")) == 3


def test_lifecycle_stop_reset_restart() -> None:
    fake = FakeTelegram(token="42:other")
    fake.start()
    url = fake.api_url
    assert ok(httpx.get(f"{url}/bot42:other/getMe"))
    fake.send_text(1, "hi")
    fake.reset()
    assert fake.pending_update_count == 0 and fake.calls == []
    fake.stop()
    assert not any(t.name == "fake-telegram" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/bot42:other/getMe")
    fake.stop()  # idempotent
    with fake:
        assert ok(httpx.get(f"{fake.api_url}/bot42:other/getMe"))


# --- getUpdates ----------------------------------------------------------------------------


def test_updates_stay_until_a_later_offset_confirms_them(
    tg: FakeTelegram, api: httpx.Client
) -> None:
    ids = [tg.send_text(1, f"m{n}") for n in range(3)]
    assert ids == [100_000, 100_001, 100_002]
    first = ok(api.post("getUpdates"))
    assert [u["update_id"] for u in first] == ids
    # a bot that crashed before confirming gets the same updates again
    assert ok(api.post("getUpdates", data={"timeout": "0"})) == first
    assert tg.pending_update_count == 3 and tg.confirmed_offset == 0

    rest = ok(api.post("getUpdates", data={"offset": str(ids[1])}))
    assert [u["update_id"] for u in rest] == ids[1:]
    assert tg.confirmed_offset == ids[1] and tg.pending_update_count == 2
    assert [u["update_id"] for u in ok(api.post("getUpdates", json={"limit": 1}))] == [ids[1]]
    assert ok(api.post("getUpdates", json={"offset": ids[2] + 1})) == []
    assert tg.pending_update_count == 0 and tg.confirmed_offset == ids[2] + 1
    assert tg.get_updates_calls == 5


def test_negative_offset_keeps_only_the_last_updates(tg: FakeTelegram, api: httpx.Client) -> None:
    ids = [tg.send_text(7, f"m{n}") for n in range(5)]
    last_two = ok(api.get("getUpdates", params={"offset": "-2"}))
    assert [u["update_id"] for u in last_two] == ids[3:]
    assert tg.pending_update_count == 2 and tg.confirmed_offset == ids[3]


def test_long_poll_wakes_when_an_update_arrives(tg: FakeTelegram, api: httpx.Client) -> None:
    timer = threading.Timer(0.3, tg.send_text, args=(1, "late"))
    timer.start()
    started = time.monotonic()
    updates = ok(api.post("getUpdates", data={"timeout": "5"}))
    elapsed = time.monotonic() - started
    timer.join()
    assert [u["message"]["text"] for u in updates] == ["late"]
    assert 0.25 < elapsed < 2


def test_long_poll_returns_nothing_after_its_timeout(tg: FakeTelegram, api: httpx.Client) -> None:
    started = time.monotonic()
    assert ok(api.post("getUpdates", data={"timeout": "0.3"})) == []
    assert 0.28 < time.monotonic() - started < 2


def test_second_getupdates_ends_the_first_with_409(tg: FakeTelegram, api: httpx.Client) -> None:
    results: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: results.append(
            httpx.post(f"{tg.api_url}/bot{tg.token}/getUpdates", data={"timeout": "5"}, timeout=10)
        )
    )
    first.start()
    tg.wait_until_sync(lambda: tg.get_updates_calls == 1, timeout=5, what="the first poll")
    assert ok(api.post("getUpdates")) == []
    first.join(5)
    conflict = error(results[0], 409)
    assert conflict["description"] == (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    )


def test_allowed_updates_filter_like_telegram(tg: FakeTelegram, api: httpx.Client) -> None:
    tg.enqueue_raw({"chat_member": {}})  # excluded unless asked for by name
    ok(api.post("getUpdates", data={"allowed_updates": '["message"]'}))
    assert tg.allowed_updates == ["message"]
    message = tg.send_text(1, "hi")
    tg.press_button(1, 1, "x")
    future = tg.enqueue_raw({"update_id": 555_555, "brand_new_kind": {"x": 1}})
    assert future == 555_555
    delivered = ok(api.post("getUpdates"))
    assert [u["update_id"] for u in delivered] == [message, future]
    assert [next(k for k in u if k != "update_id") for u in tg.filtered_updates] == [
        "chat_member",
        "callback_query",
    ]


def test_webhook_blocks_polling(tg: FakeTelegram, api: httpx.Client) -> None:
    assert error(api.post("setWebhook", data={"url": "http://x"}), 400)
    assert ok(api.post("setWebhook", data={"url": "https://example.org/hook"})) is True
    assert ok(api.get("getWebhookInfo"))["url"] == "https://example.org/hook"
    assert "webhook is active" in error(api.post("getUpdates"), 409)["description"]
    tg.send_text(1, "queued")
    assert ok(api.post("deleteWebhook", data={"drop_pending_updates": "true"})) is True
    assert ok(api.post("getUpdates")) == []
    assert ok(api.post("logOut")) is True and ok(api.post("close")) is True


# --- updates made by the test side ---------------------------------------------------------


def test_test_side_updates_validate_as_aiogram_updates(tg: FakeTelegram, api: httpx.Client) -> None:
    tg.send_text(
        5,
        "/start@teambot_test_bot payload",
        first_name="Ann",
        last_name="Lee",
        username="ann",
        language_code="ru",
    )
    sent = Message.model_validate(ok(send(api, 5, "Pick", reply_markup=KEYBOARD)))
    tg.press_button(5, sent.message_id, "y")
    tg.press_button(5, 99, "stale")
    raw = ok(api.post("getUpdates"))
    text, press, stale = (Update.model_validate(u) for u in raw)

    assert text.message is not None and text.message.from_user is not None
    assert text.message.from_user.language_code == "ru"
    assert text.message.chat.type == "private" and text.message.chat.username == "ann"
    assert text.message.entities is not None
    assert (text.message.entities[0].type, text.message.entities[0].length) == (
        "bot_command",
        len("/start@teambot_test_bot"),
    )
    assert press.callback_query is not None and press.callback_query.data == "y"
    assert isinstance(press.callback_query.message, Message)
    assert press.callback_query.message.reply_markup is not None
    assert stale.callback_query is not None
    assert isinstance(stale.callback_query.message, InaccessibleMessage)
    assert press.callback_query.id != stale.callback_query.id


def test_press_finds_the_latest_button_and_lists_what_exists(
    tg: FakeTelegram, api: httpx.Client
) -> None:
    ok(send(api, 3, "old", reply_markup=KEYBOARD))
    newer = ok(
        send(
            api,
            3,
            "new",
            reply_markup={
                "inline_keyboard": [
                    [{"text": "Yes", "callback_data": "y2"}],
                    [{"text": "Docs", "url": "https://x.org"}],
                ]
            },
        )
    )
    update_id = tg.press(3, "Yes")
    [update] = tg.pending_updates()
    assert update["update_id"] == update_id
    assert update["callback_query"]["data"] == "y2"
    assert update["callback_query"]["message"]["message_id"] == newer["message_id"]
    assert tg.press(3, "No") and tg.pending_updates()[-1]["callback_query"]["data"] == "n"
    with pytest.raises(AssertionError, match=r"no button 'Maybe'.*'Yes', 'No'"):
        tg.press(3, "Maybe")
    with pytest.raises(AssertionError, match="no callback_data"):
        tg.press(3, "Docs")


# --- sending -------------------------------------------------------------------------------


def test_message_ids_count_per_chat_and_validate(tg: FakeTelegram, api: httpx.Client) -> None:
    tg.send_text(1, "hello")  # the user's own message takes id 1 in that chat
    first = Message.model_validate(ok(send(api, 1, "one")))
    second = Message.model_validate(ok(send(api, 1, "two", reply_markup=KEYBOARD)))
    other = Message.model_validate(ok(send(api, 2, "elsewhere")))
    group = Message.model_validate(ok(send(api, -100123, "group")))
    assert (first.message_id, second.message_id, other.message_id) == (2, 3, 1)
    assert first.chat.type == "private" and first.chat.first_name == "User"
    assert first.from_user is not None and first.from_user.is_bot
    assert second.reply_markup is not None
    assert second.reply_markup.inline_keyboard[0][1].callback_data == "n"
    assert group.chat.type == "supergroup"
    assert [m.text for m in tg.messages(1)] == ["one", "two"]
    assert tg.last_message(1).buttons == ["Yes", "No"]
    assert tg.last_message(1).callback_data("No") == "n"
    channel = ok(api.post("sendMessage", data={"chat_id": "@launchlab", "text": "news"}))
    assert channel["chat"]["type"] == "channel" and tg.last_message("@launchlab").text == "news"


def test_query_json_and_multipart_bodies(tg: FakeTelegram, api: httpx.Client) -> None:
    ok(api.get("sendMessage", params={"chat_id": "9", "text": "query"}))
    ok(api.post("sendMessage", json={"chat_id": 9, "text": "json", "reply_markup": KEYBOARD}))
    ok(
        api.post(
            "sendMessage",
            data={"chat_id": "9", "text": "multipart", "reply_markup": json.dumps(KEYBOARD)},
            files={"document": ("notes.txt", b"hello")},
        )
    )
    ok(api.post("sendChatAction", data={"chat_id": "9", "action": "typing"}))
    assert [m.text for m in tg.messages(9)] == ["query", "json", "multipart"]
    assert tg.messages(9)[2].reply_markup == KEYBOARD
    multipart = tg.calls_of("sendMessage")[-1]
    assert multipart.params["chat_id"] == 9 and multipart.params["reply_markup"] == KEYBOARD
    assert multipart.params["document"] == "<file 'notes.txt', 5 bytes>"
    assert error(
        api.post("sendMessage", content=b"{nope", headers={"content-type": "application/json"}), 400
    )


def test_send_message_errors(tg: FakeTelegram, api: httpx.Client) -> None:
    def description(response: httpx.Response) -> str:
        return str(error(response, 400)["description"])

    assert description(send(api, 1, " ")) == "Bad Request: message text is empty"
    assert description(api.post("sendMessage", data={"chat_id": "1"})) == (
        "Bad Request: message text is empty"
    )
    assert description(send(api, 1, "x" * 4097)) == "Bad Request: message is too long"
    assert ok(send(api, 1, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML"))  # plain text counts
    assert description(send(api, 1, "<b></b>", parse_mode="HTML")) == (
        "Bad Request: message text is empty"
    )
    assert description(send(api, 0, "x")) == "Bad Request: chat not found"
    long_data = {"inline_keyboard": [[{"text": "a", "callback_data": "d" * 65}]]}
    assert description(send(api, 1, "x", reply_markup=long_data)) == (
        "Bad Request: BUTTON_DATA_INVALID"
    )
    plain_button = {"inline_keyboard": [[{"text": "a"}]]}
    assert "Text buttons are unallowed" in description(send(api, 1, "x", reply_markup=plain_button))
    tg.block_user(1)
    assert error(send(api, 1, "x"), 403)["description"] == "Forbidden: bot was blocked by the user"
    assert len(tg.messages(1)) == 1
    edit = {"chat_id": 1, "message_id": tg.messages(1)[0].message_id, "text": "y"}
    assert error(api.post("editMessageText", data=edit), 403)["description"] == (
        "Forbidden: bot was blocked by the user"
    )
    tg.unknown_chat(77)
    assert description(send(api, 77, "x")) == "Bad Request: chat not found"


def test_html_is_parsed_into_text_and_entities(tg: FakeTelegram, api: httpx.Client) -> None:
    html = (
        '😀 <b>bold</b> <i>it</i> <a href="https://x.org/?a=1&amp;b=2">link</a> '
        "&lt;tag&gt; &amp; &quot;q&quot; &#169; <tg-spoiler>s</tg-spoiler> "
        '<span class="tg-spoiler">s2</span> <pre><code class="language-py">x = 1</code></pre> '
        "<blockquote expandable>q</blockquote> <STRONG>up</STRONG>"
    )
    message = Message.model_validate(ok(send(api, 1, html, parse_mode="HTML")))
    assert message.text == '😀 bold it link <tag> & "q" © s s2 x = 1 q up'
    stored = tg.last_message(1)
    assert stored.text == message.text and stored.html == html
    entities = [(e.type, e.offset, e.length) for e in message.entities or []]
    assert entities[:3] == [("bold", 3, 4), ("italic", 8, 2), ("text_link", 11, 4)]
    assert message.entities is not None
    assert message.entities[2].url == "https://x.org/?a=1&b=2"
    kinds = [e.type for e in message.entities]
    assert kinds[3:] == ["spoiler", "spoiler", "pre", "expandable_blockquote", "bold"]
    assert message.entities[5].language == "py"
    assert ok(send(api, 1, "5 > 3 and <b>x</b>", parse_mode="HTML"))["text"] == "5 > 3 and x"
    unparsed = ok(send(api, 1, "<b>raw</b> & <"))
    assert unparsed["text"] == "<b>raw</b> & <" and "entities" not in unparsed


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("a < b", "Empty tag name"),
        ("I <3 you", 'Unsupported start tag "3"'),
        ("AT&T", 'Character "&" is reserved'),
        ("&nbsp;", 'Character "&" is reserved'),
        ("<foo>x</foo>", 'Unsupported start tag "foo"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag"),
        ("<span>x</span>", 'must have class "tg-spoiler"'),
        ("<!-- c -->x", 'Unsupported start tag "!--"'),
        ('<a href="x>y', "Unclosed start tag at byte offset 0"),
    ],
)
def test_bad_html_is_refused(tg: FakeTelegram, api: httpx.Client, html: str, reason: str) -> None:
    description = error(send(api, 1, html, parse_mode="HTML"), 400)["description"]
    assert description.startswith("Bad Request: can't parse entities: ")
    assert reason in description
    assert tg.messages(1) == []
    assert tg.calls[-1].status == 400 and tg.calls[-1].params["text"] == html


def test_edits_and_deletes(tg: FakeTelegram, api: httpx.Client) -> None:
    sent = ok(send(api, 1, "<b>hi</b>", parse_mode="HTML", reply_markup=KEYBOARD))
    ident = {"chat_id": "1", "message_id": str(sent["message_id"])}

    missing = api.post("editMessageText", data={"chat_id": "1", "message_id": "77", "text": "x"})
    assert error(missing, 400)["description"] == "Bad Request: message to edit not found"
    same = api.post(
        "editMessageText",
        data={
            **ident,
            "text": "<b>hi</b>",
            "parse_mode": "HTML",
            "reply_markup": json.dumps(KEYBOARD),
        },
    )
    assert error(same, 400)["description"] == NOT_MODIFIED
    # same text, formatting changed: that is a modification
    edited = ok(
        api.post(
            "editMessageText", data={**ident, "text": "hi", "reply_markup": json.dumps(KEYBOARD)}
        )
    )
    assert Message.model_validate(edited).edit_date is not None
    current = tg.last_message(1)
    assert (current.text, current.html, current.edited, current.buttons) == (
        "hi",
        "hi",
        True,
        ["Yes", "No"],
    )
    # like Telegram, an edit that leaves out reply_markup drops the keyboard
    ok(api.post("editMessageText", data={**ident, "text": "bye"}))
    assert tg.last_message(1).buttons == []
    ok(api.post("editMessageReplyMarkup", data={**ident, "reply_markup": json.dumps(KEYBOARD)}))
    assert tg.last_message(1).buttons == ["Yes", "No"]
    assert error(
        api.post("editMessageReplyMarkup", data={**ident, "reply_markup": json.dumps(KEYBOARD)}),
        400,
    )

    assert ok(api.post("deleteMessage", data=ident)) is True
    assert tg.messages(1) == []
    assert error(api.post("deleteMessage", data=ident), 400)["description"] == (
        "Bad Request: message to delete not found"
    )
    assert error(api.post("editMessageText", data={**ident, "text": "z"}), 400)


def test_callback_queries_are_answered_once(tg: FakeTelegram, api: httpx.Client) -> None:
    tg.press_button(1, 1, "data")
    query_id = tg.pending_updates()[0]["callback_query"]["id"]
    answer = {"callback_query_id": query_id, "text": "Done", "show_alert": "true"}
    assert ok(api.post("answerCallbackQuery", data=answer)) is True
    assert error(api.post("answerCallbackQuery", data=answer), 400)["description"] == QUERY_INVALID
    unknown = api.post("answerCallbackQuery", json={"callback_query_id": "123"})
    assert error(unknown, 400)["description"] == QUERY_INVALID
    assert tg.callback_answers == [(query_id, "Done", True)]


def test_commands_are_stored_per_scope_and_language(tg: FakeTelegram, api: httpx.Client) -> None:
    commands = [{"command": "start", "description": "Start"}]
    russian = [{"command": "start", "description": "Начать"}]
    private = json.dumps({"type": "all_private_chats"})
    ok(api.post("setMyCommands", data={"commands": json.dumps(commands)}))
    ok(
        api.post(
            "setMyCommands",
            data={"commands": json.dumps(russian), "scope": private, "language_code": "ru"},
        )
    )
    assert ok(api.post("getMyCommands")) == commands
    assert ok(api.post("getMyCommands", data={"scope": private})) == []
    assert ok(api.post("getMyCommands", data={"scope": private, "language_code": "ru"})) == russian
    assert tg.my_commands({"type": "all_private_chats"}, "ru") == russian
    ok(api.post("deleteMyCommands"))
    assert ok(api.post("getMyCommands")) == []
    bad = [{"command": "Start!", "description": "x"}]
    assert error(api.post("setMyCommands", json={"commands": bad}), 400)["description"] == (
        "Bad Request: BOT_COMMAND_INVALID"
    )
    assert ok(api.post("setMyDescription", data={"description": "Finds teammates"}))
    assert ok(api.post("getMyDescription")) == {"description": "Finds teammates"}
    assert ok(api.post("setMyShortDescription", data={"short_description": "Teams"}))


# --- flood control -------------------------------------------------------------------------


def test_flood_limits_per_private_chat() -> None:
    tg = FakeTelegram(flood_limits=True)
    with tg, httpx.Client(base_url=f"{tg.api_url}/bot{tg.token}/") as client:
        for n in range(3):
            ok(send(client, 1, f"burst {n}"))
        limited = error(send(client, 1, "one too many"), 429)
        assert limited["description"] == "Too Many Requests: retry after 1"
        assert limited["parameters"] == {"retry_after": 1}
        assert ok(send(client, 2, "another chat is not limited"))
        assert tg.flood_rejections == 1 and len(tg.messages(1)) == 3
        tg.flood_limits = False
        assert ok(send(client, 1, "limits off"))


def test_flood_limits_per_group_and_overall(tg: FakeTelegram, api: httpx.Client) -> None:
    tg.flood_limits = True
    for n in range(20):
        ok(send(api, -5, f"group {n}"))
    group = error(send(api, -5, "21st in a minute"), 429)
    assert 1 <= group["parameters"]["retry_after"] <= 60
    for chat in range(100, 110):  # 30 sends in the last second, counting the group's
        ok(send(api, chat, "x"))
    overall = error(send(api, 200, "31st in a second"), 429)
    assert overall["parameters"]["retry_after"] == 1
    assert tg.flood_rejections == 2 and tg.messages(200) == []


# --- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "502", "malformed", "reset", "timeout", "429"])
def test_injected_faults(tg: FakeTelegram, api: httpx.Client, kind: str) -> None:
    tg.fault_delay = 0.3
    tg.fault_retry_after = 3
    tg.inject_fault("sendMessage", kind)
    ok(api.post("getMe"))  # other methods are untouched
    started = time.monotonic()
    if kind == "reset":
        with pytest.raises(httpx.TransportError):
            send(api, 1, "x")
    else:
        response = send(api, 1, "x")
        if kind == "500":
            assert error(response, 500)["description"] == "Internal Server Error"
        elif kind == "502":
            assert response.status_code == 502
            assert response.headers["content-type"].startswith("text/html")
            with pytest.raises(json.JSONDecodeError):
                response.json()
        elif kind == "malformed":
            assert response.status_code == 200
            with pytest.raises(json.JSONDecodeError):
                response.json()
        elif kind == "429":
            assert error(response, 429)["parameters"] == {"retry_after": 3}
        else:
            assert time.monotonic() - started >= 0.3
            assert ok(response)["text"] == "x"
    delivered = 1 if kind == "timeout" else 0
    assert len(tg.messages(1)) == delivered
    assert ok(send(api, 1, "after")) and len(tg.messages(1)) == delivered + 1
    faulty = tg.calls_of("sendMessage")[0]
    assert faulty.fault == kind
    expected = {"reset": 0, "timeout": 200, "malformed": 200, "500": 500, "502": 502, "429": 429}
    assert faulty.status == expected[kind]


def test_faults_for_any_method_and_several_times(tg: FakeTelegram, api: httpx.Client) -> None:
    tg.inject_fault("*", "500", times=2)
    assert error(api.post("getMe"), 500)
    assert error(api.post("getUpdates"), 500)
    assert ok(api.post("getMe"))
    tg.fault_delay = 5
    tg.inject_fault("getMe", "timeout")
    with pytest.raises(httpx.ReadTimeout):
        api.post("getMe", timeout=0.2)
    with pytest.raises(ValueError, match="unknown fault kind"):
        tg.inject_fault("getMe", "404")


# --- from aiogram and from async tests -----------------------------------------------------


def test_aiogram_bot_talks_to_the_fake(tg: FakeTelegram) -> None:
    async def scenario() -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(tg.api_url))
        bot = Bot(tg.token, session=session)
        try:
            assert (await bot.get_me()).username == "teambot_test_bot"
            markup = InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]]
            )
            sent = await bot.send_message(1, "<i>hi</i>", parse_mode="HTML", reply_markup=markup)
            assert sent.text == "hi"
            with pytest.raises(TelegramBadRequest, match="message is not modified"):
                await bot.edit_message_text(
                    "<i>hi</i>",
                    chat_id=1,
                    message_id=sent.message_id,
                    parse_mode="HTML",
                    reply_markup=markup,
                )
            tg.press(1, "Go")
            [update] = await bot.get_updates(timeout=1)
            assert update.callback_query is not None
            assert await bot.answer_callback_query(update.callback_query.id, text="ok")
        finally:
            await session.close()

    asyncio.run(scenario())
    assert tg.callback_answers[0][1] == "ok"


@pytest.mark.anyio
async def test_waiting_helpers_on_any_backend(tg: FakeTelegram) -> None:
    base = f"{tg.api_url}/bot{tg.token}"

    async def bot_side(client: httpx.AsyncClient) -> None:
        [update] = (await client.post(f"{base}/getUpdates", data={"timeout": "5"})).json()["result"]
        for text in ("first", "second"):
            await anyio.sleep(0.05)
            await client.post(f"{base}/sendMessage", data={"chat_id": "4", "text": text})
        await client.post(f"{base}/getUpdates", data={"offset": str(update["update_id"] + 1)})

    async with httpx.AsyncClient(timeout=10) as client, anyio.create_task_group() as group:
        group.start_soon(bot_side, client)
        update_id = tg.send_text(4, "go")
        messages = await tg.wait_for_messages(4, 2, timeout=5)
        assert [m.text for m in messages] == ["first", "second"]
        await tg.wait_confirmed(update_id, timeout=5)
    with pytest.raises(AssertionError, match=r"holds 2: \['first', 'second'\]"):
        await tg.wait_for_messages(4, 3, timeout=0.1)
    with pytest.raises(AssertionError, match="never"):
        await tg.wait_until(lambda: False, timeout=0.05, what="never")
    assert tg.wait_for_messages_sync(4, 2, timeout=0.1)[1].text == "second"
