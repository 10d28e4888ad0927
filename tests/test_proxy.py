"""The Bot API through TELEGRAM_PROXY: real HTTP CONNECT and SOCKS5 proxies (tiny-proxy, on
the test's anyio backend) on 127.0.0.1 in front of the fake Bot API, plain and TLS.

The proxies know a name nobody else resolves, `api.telegram.test`: reaching it proves the
request went through the proxy, and a TLS handshake that succeeds proves TLS ran inside the
tunnel, checked against the Bot API's name (the proxy has no certificate at all)."""

from __future__ import annotations

import json
import socket
import ssl
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
import trustme
from aiogram import Bot
from anyio.abc import SocketAttribute
from tiny_proxy import HttpProxy, HttpProxyHandler, Socks5Proxy, Socks5ProxyHandler

from teambot.adapters.http_client import HttpClient, HttpFailure, parse_proxy
from teambot.adapters.telegram import TRANSIENT_TELEGRAM_ERRORS, BotApiSession
from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.anyio

BOT_API_HOST = "api.telegram.test"
USER, PASSWORD = "teambot", "hunter2-proxy-secret"


@dataclass
class ProxyRecord:
    kind: str  # http or socks5
    port: int = 0
    asked: list[str] = field(default_factory=list)  # the hosts clients asked to reach

    def url(self, scheme: str | None = None, user: str = USER, password: str = PASSWORD) -> str:
        auth = f"{user}:{password}@" if user else ""
        return f"{scheme or self.kind}://{auth}127.0.0.1:{self.port}"


class _Resolving:
    """Records the host a client asked for; only the proxy knows where BOT_API_HOST is."""

    record: ProxyRecord

    async def negotiate(self) -> tuple[str, int]:
        host, port = await super().negotiate()  # type: ignore[misc]
        self.record.asked.append(host)
        return ("127.0.0.1" if host == BOT_API_HOST else host), port


class _HttpProxy(_Resolving, HttpProxy):
    async def respond(self, code: int, message: str, raise_exc: bool = True) -> None:
        if code == 401:  # tiny-proxy says 401 where proxies say 407
            code, message = 407, "Proxy Authentication Required"
        await super().respond(code, message, raise_exc)


class _Socks5Proxy(_Resolving, Socks5Proxy):
    pass


@asynccontextmanager
async def proxy_server(kind: str) -> AsyncIterator[ProxyRecord]:
    """A proxy on 127.0.0.1 that wants USER and PASSWORD."""
    record = ProxyRecord(kind)
    base, proxy_class = (
        (HttpProxyHandler, _HttpProxy) if kind == "http" else (Socks5ProxyHandler, _Socks5Proxy)
    )

    class Handler(base):  # type: ignore[misc, valid-type]
        def create_proxy(self, stream: Any) -> Any:
            proxy = proxy_class(stream, username=USER, password=PASSWORD)
            proxy.record = record
            return proxy

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    record.port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, Handler().handle)
        yield record
        tg.cancel_scope.cancel()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_telegram(ca: trustme.CA) -> Iterator[FakeTelegram]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(BOT_API_HOST, "localhost").configure_cert(context)
    with FakeTelegram(tls=context) as fake:
        yield fake


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("scheme", ["http", "socks5", "socks5h"])
async def test_bot_api_calls_go_through_the_proxy(
    scheme: str, tls: bool, telegram: FakeTelegram, tls_telegram: FakeTelegram, ca: trustme.CA
) -> None:
    server = tls_telegram if tls else telegram
    # socks5:// resolves names here (as curl does), so it needs a name this machine knows
    host = "localhost" if scheme == "socks5" else BOT_API_HOST
    url = f"{'https' if tls else 'http'}://{host}:{server.port}/bot{server.token}/getMe"
    async with proxy_server("http" if scheme == "http" else "socks5") as proxy:
        client = HttpClient(tls=trusting(ca), proxy=parse_proxy(proxy.url(scheme)))
        for _ in range(3):
            response = await client.request("POST", url, timeout=10)
            assert response.status == 200
            assert json.loads(response.body)["result"]["username"] == "teambot_test_bot"
        await client.aclose()
    # one tunnel, kept alive; socks5h and CONNECT hand the name to the proxy
    assert proxy.asked == ["127.0.0.1" if scheme == "socks5" else BOT_API_HOST]
    assert len(server.calls_of("getMe")) == 3


async def test_tls_inside_the_tunnel_checks_the_bot_api_certificate(
    tls_telegram: FakeTelegram,
) -> None:
    url = f"https://{BOT_API_HOST}:{tls_telegram.port}/bot{tls_telegram.token}/getMe"
    async with proxy_server("http") as proxy:
        client = HttpClient(tls=ssl.create_default_context(), proxy=parse_proxy(proxy.url()))
        with pytest.raises(HttpFailure) as failure:
            await client.request("POST", url, timeout=10)
    assert "TLS certificate not trusted" in str(failure.value)
    assert tls_telegram.calls_of("getMe") == []


@pytest.mark.parametrize(
    ("kind", "user", "password", "reason"),
    [
        ("http", USER, "wrong-" + PASSWORD, "407 Proxy Authentication Required"),
        ("http", "", "", "407 Proxy Authentication Required"),
        ("socks5", USER, "wrong-" + PASSWORD, "Username and password authentication failure"),
        ("socks5", "", "", "No acceptable authentication methods"),
    ],
    ids=["http-wrong", "http-none", "socks5-wrong", "socks5-none"],
)
async def test_refused_credentials_are_a_clear_transient_error_that_shows_none(
    kind: str, user: str, password: str, reason: str, telegram: FakeTelegram
) -> None:
    async with proxy_server(kind) as proxy:
        session = BotApiSession(
            f"http://{BOT_API_HOST}:{telegram.port}", proxy=proxy.url(kind, user, password)
        )
        bot = Bot(token=telegram.token, session=session)
        with pytest.raises(TRANSIENT_TELEGRAM_ERRORS) as failure:
            await bot.get_me()
        await session.close()
    assert f"proxy 127.0.0.1:{proxy.port} refused the tunnel: {reason}" in str(failure.value)
    shown = "".join(traceback.format_exception(failure.value))
    for secret in (PASSWORD, telegram.token.split(":")[1]):
        assert secret not in shown
    assert telegram.calls_of("getMe") == []


async def test_a_proxy_that_is_down_is_named_without_its_credentials(
    telegram: FakeTelegram,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    proxy = parse_proxy(f"socks5h://{USER}:{PASSWORD}@127.0.0.1:{port}")
    client = HttpClient(proxy=proxy)
    with pytest.raises(HttpFailure) as failure:
        await client.request("POST", f"http://{BOT_API_HOST}/bot{telegram.token}/getMe", timeout=5)
    assert str(failure.value) == f"proxy 127.0.0.1:{port} unreachable (ConnectionRefusedError)"
    assert PASSWORD not in repr(proxy)


@pytest.mark.parametrize("scheme", ["http", "socks5h"])
async def test_the_bot_answers_through_the_proxy(
    scheme: str, telegram: FakeTelegram, database_url: str
) -> None:
    async with proxy_server("http" if scheme == "http" else "socks5") as proxy:
        settings = make_settings(
            telegram,
            database_url,
            telegram_api_url=f"http://{BOT_API_HOST}:{telegram.port}",
            telegram_proxy=proxy.url(scheme),
        )
        async with running(settings):
            telegram.send_text(1, "/start")
            await telegram.wait_for_messages(1, 1)
    assert proxy.asked and set(proxy.asked) == {BOT_API_HOST}
