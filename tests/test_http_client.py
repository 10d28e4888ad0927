"""The Bot API session's HTTP client against a real HTTP/1.1 server (plain and TLS): it keeps
connections alive, notices the ones the server closed, and fails with neutral errors."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import pytest
import trustme

from teambot.adapters.http_client import HttpClient, HttpFailure

pytestmark = pytest.mark.anyio

SECRET_PATH = "/bot123:SECRET-token/sendMessage"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a silent handler may still be sleeping

    def __init__(self, *, idle_timeout: float = 5, tls: ssl.SSLContext | None = None) -> None:
        self.connections = 0
        self.silent = threading.Event()  # accept requests, never answer
        self.idle_timeout = idle_timeout
        super().__init__(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://localhost:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: Server

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # an idle connection is closed after this
        super().setup()
        self.server.connections += 1

    def _answer(self, body: bytes) -> None:
        if self.server.silent.is_set():
            time.sleep(10)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        received = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(b"%s got %s" % (self.path.encode(), received))

    def do_GET(self) -> None:
        self._answer(b"x" * 200_000)  # more than one read

    def log_message(self, *args: object) -> None:
        pass


def serve(server: Server) -> Iterator[Server]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    yield from serve(Server())


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    yield from serve(Server(tls=context))


async def test_requests_share_one_kept_alive_connection(server: Server) -> None:
    client = HttpClient()
    for n in range(5):
        response = await client.request("POST", server.url + "/m", body=b"n=%d" % n, timeout=5)
        assert (response.status, response.body) == (200, b"/m got n=%d" % n)
    response = await client.request("GET", server.url + "/file", timeout=5)
    assert len(response.body) == 200_000
    assert server.connections == 1
    await client.aclose()


async def test_concurrent_requests_are_bounded_by_the_pool(server: Server) -> None:
    client = HttpClient(connections=3)
    bodies: list[bytes] = []

    async def one(n: int) -> None:
        bodies.append((await client.request("POST", server.url, body=b"%d" % n, timeout=5)).body)

    async with anyio.create_task_group() as tg:
        for n in range(30):
            tg.start_soon(one, n)
    assert sorted(bodies) == sorted(b"/ got %d" % n for n in range(30))
    assert server.connections <= 3
    await client.aclose()


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    for server in serve(Server(idle_timeout=0.2)):
        client = HttpClient()
        assert (await client.request("POST", server.url, body=b"a", timeout=5)).status == 200
        await anyio.sleep(0.6)  # the server hangs up on the idle connection meanwhile
        assert (await client.request("POST", server.url, body=b"b", timeout=5)).body == b"/ got b"
        assert server.connections == 2
        await client.aclose()


async def test_tls_with_certificate_check(tls_server: Server, ca: trustme.CA) -> None:
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    client = HttpClient(tls=trusting)
    for _ in range(3):
        assert (await client.request("POST", tls_server.url, body=b"x", timeout=5)).status == 200
    assert tls_server.connections == 1
    await client.aclose()

    untrusting = HttpClient(tls=ssl.create_default_context())
    with pytest.raises(HttpFailure):
        await untrusting.request("POST", tls_server.url, body=b"x", timeout=5)


async def test_a_server_that_never_answers_times_out_without_naming_the_url(
    server: Server,
) -> None:
    client = HttpClient()
    server.silent.set()
    started = anyio.current_time()
    with pytest.raises(HttpFailure) as failure:
        await client.request("POST", server.url + SECRET_PATH, body=b"x", timeout=0.5)
    assert anyio.current_time() - started < 5
    assert "SECRET" not in repr(failure.value) and failure.value.__cause__ is None
    server.silent.clear()
    # the timed-out connection was dropped, not handed to the next request
    assert (await client.request("POST", server.url, body=b"y", timeout=5)).body == b"/ got y"
    await client.aclose()


async def test_refused_connection_fails_without_naming_the_url() -> None:
    for server in serve(Server()):
        url = server.url
    client = HttpClient()
    with pytest.raises(HttpFailure) as failure:
        await client.request("POST", url + SECRET_PATH, timeout=5)
    assert "SECRET" not in str(failure.value) and str(failure.value) == "connection refused"


async def test_a_cancelled_request_leaves_the_pool_healthy(server: Server) -> None:
    client = HttpClient(connections=1)
    server.silent.set()
    with anyio.move_on_after(0.3):
        await client.request("POST", server.url, body=b"long poll", timeout=30)
    server.silent.clear()
    assert (await client.request("POST", server.url, body=b"next", timeout=5)).status == 200
    await client.aclose()


class ScriptedServer:
    """Answers each request with the next of `answers`, written as the given pieces (with a
    pause between them); `None` as a piece hangs up there."""

    def __init__(self, answers: list[list[bytes | None]]) -> None:
        self.answers = answers
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                while self.answers and self._read_request(connection):
                    for piece in self.answers.pop(0):
                        if piece is None:
                            break
                        connection.sendall(piece)
                        time.sleep(0.01)
                    else:
                        continue
                    break  # hung up

    @staticmethod
    def _read_request(connection: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += connection.recv(65536)
        return True

    def close(self) -> None:
        self.listener.close()


OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


async def test_answers_in_every_framing_servers_use() -> None:
    """Chunked after a "100 Continue", in pieces down to single bytes, and up to the
    server's close: each read whole; a kept-alive connection is reused, a closed one not."""
    whole = b'{"ok":true,"result":"' + "привет".encode() + b'"}'
    framed = OK_HEAD + b"Content-Length: %d\r\n\r\n" % len(whole) + whole
    in_pieces: list[bytes | None] = [framed[i : i + 5] for i in range(0, len(framed), 5)]
    server = ScriptedServer(
        [
            [
                b"HTTP/1.1 100 Continue\r\n\r\n",
                OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n",
                b"%x\r\n%s\r\n" % (len(whole[:7]), whole[:7]),
                b"%x\r\n%s\r\n0\r\n\r\n" % (len(whole[7:]), whole[7:]),
            ],
            in_pieces,
            [OK_HEAD + b"Connection: close\r\n\r\n", whole, None],
            [OK_HEAD + b"Content-Length: %d\r\n\r\n%s" % (len(whole), whole)],
        ]
    )
    client = HttpClient()
    try:
        for _ in range(4):
            response = await client.request("POST", server.url + "/m", body=b"{}", timeout=5)
            assert (response.status, response.body) == (200, whole)
    finally:
        await client.aclose()
        server.close()
    # the first three on one connection; after the close, a new one
    assert server.connections == 2


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ([OK_HEAD + b"Content-Length: 100\r\n\r\n", b'{"ok":', None], "connection closed before"),
        ([OK_HEAD, None], "connection closed before"),
        ([None], "connection closed before"),
        ([b"SSH-2.0-OpenSSH_9.6\r\n\r\n"], "garbled answer"),
        ([OK_HEAD + b"Content-Length: x\r\n\r\n"], "garbled answer"),
    ],
    ids=["cut-mid-body", "cut-mid-head", "hung-up", "not-http", "bad-length"],
)
async def test_a_broken_answer_fails_plainly_and_the_next_request_gets_through(
    answer: list[bytes | None], reason: str
) -> None:
    whole = b'{"ok":true}'
    server = ScriptedServer(
        [answer, [OK_HEAD + b"Content-Length: %d\r\n\r\n%s" % (len(whole), whole)]]
    )
    client = HttpClient()
    try:
        with pytest.raises(HttpFailure) as failure:
            await client.request("POST", server.url + SECRET_PATH, body=b"{}", timeout=5)
        assert str(failure.value).startswith(reason)
        assert "SECRET" not in repr(failure.value) and failure.value.__cause__ is None
        assert (await client.request("POST", server.url, body=b"{}", timeout=5)).body == whole
    finally:
        await client.aclose()
        server.close()
    assert server.connections == 2  # the broken connection was not used again
