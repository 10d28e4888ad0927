"""The organizers' dashboard over HTTP: the one-time link's landing page, the session
cookie, the page (charts as SVG drawn here by pygal, nothing fetched from elsewhere) and the
CSV exports. In English. Everything under /dashboard of the bot's HTTP listener:

- GET  /dashboard/login?token=…   a page with one button (a link preview that fetches the
                                   URL does not use it up)
- POST /dashboard/login            uses the link, sets the session cookie, 303 to the page
- GET  /dashboard[?event=slug]     the page, for everyone or one event
- GET  /dashboard/teams.csv[?event=slug], /dashboard/looking.csv[?event=slug]
- GET  /dashboard/app               the Telegram Mini App's entry (PUBLIC_URL https): a
                                   script posts Telegram's initData (in the URL's fragment)
- POST /dashboard/app               checks initData's signature (the bot token's), its age and
                                   the admin, sets the session cookie, 303 to the page
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from html import escape
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pygal
from aiogram.utils.web_app import safe_parse_webapp_init_data
from pygal.style import Style

from teambot.adapters.database import TRANSIENT_ERRORS, Database
from teambot.config import Settings
from teambot.services import dashboard
from teambot.services.dashboard import (
    LINK_LIFETIME_SECONDS,
    SESSION_LIFETIME_SECONDS,
    Access,
    Member,
    Overview,
    Person,
    Refusal,
)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

COOKIE = "teambot_dashboard"
MAX_FORM_BYTES = 4096
# no script (but the Mini App's entry: its own, by hash); charts are inline SVG with their
# own styles
POLICY = (
    b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;"
    b" form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"referrer-policy", b"no-referrer"),  # the login URL carries its token
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]
REFUSALS = {
    Refusal.FORGED: "This link or session is not valid.",
    Refusal.EXPIRED: "This link or session has expired.",
    Refusal.USED: "This link was used already: each link lets in once.",
    Refusal.NOT_ADMIN: "This account is no longer an admin of the bot.",
}
# The Mini App's page: Telegram hands the signed initData in the URL's fragment, which only
# a script can read; it is posted like the link's token. The only script: allowed by hash.
APP_SCRIPT = (
    "var data = new URLSearchParams(location.hash.slice(1)).get('tgWebAppData');"
    "if (data) { document.getElementById('init').value = data; document.forms[0].submit(); }"
)
APP_SCRIPT_HASH = base64.b64encode(hashlib.sha256(APP_SCRIPT.encode()).digest())
ASK_THE_BOT = "Send /dashboard to the bot for a new link (admins only)."
TYPES = {"participant": "participant", "cofounder": "co-founder", "team": "team"}
CHART_STYLE = Style(
    font_family="DejaVu Sans, Helvetica, Arial, sans-serif",
    background="white",
    plot_background="white",
    colors=("#3f6fb5", "#2e9e6a", "#c94f4f", "#a0a0a0", "#e0a030"),
    value_font_size=13,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
)


class DashboardSite:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        url = settings.dashboard_url
        secret = settings.dashboard_secret
        self.access = (
            Access(secret.get_secret_value(), settings.admin_ids)
            if url is not None and secret is not None
            else None
        )
        self.cookie_path = urlsplit(url).path if url else "/dashboard"
        self.secure = (settings.public_url or "").startswith("https://")
        # the Mini App's initData is signed with the bot's token
        self._bot_token = settings.bot_token.get_secret_value() if settings.bot_token else None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        try:
            await self._serve(scope, receive, send)
        except TRANSIENT_ERRORS:
            await _page(send, 503, "Try again soon", "<p>The database is not reachable now.</p>")

    async def _serve(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if self.access is None:
            await _page(
                send,
                404,
                "Not configured",
                "<p>The dashboard is not configured:"
                " set DASHBOARD_SECRET in the bot's settings.</p>",
            )
            return
        path = scope["path"].removeprefix("/dashboard")
        method = scope["method"]
        query = _query(scope)
        if path == "/login" and method in ("GET", "HEAD"):
            await self._landing(send, query.get("token", ""))
        elif path == "/login" and method == "POST":
            await self._login(send, _form(await _body(receive)).get("token", ""))
        elif path == "/app" and method in ("GET", "HEAD"):
            await self._app_landing(send)
        elif path == "/app" and method == "POST":
            await self._app_login(send, _form(await _body(receive)).get("init_data", ""))
        elif path == "/":  # the page's relative links need it without the slash
            await _respond(send, 308, b"", "text/plain", [(b"location", b"../dashboard")])
        elif path in ("", "/teams.csv", "/looking.csv") and method in ("GET", "HEAD"):
            entry = self.access.check_session(_cookie(scope) or "")
            if entry.admin is None:
                refusal = entry.refusal if _cookie(scope) else None
                reason = REFUSALS[refusal] + " " if refusal else ""
                await _page(send, 403, "Sign in", f"<p>{escape(reason + ASK_THE_BOT)}</p>")
            elif path.endswith(".csv"):
                await self._export(send, path, query.get("event"))
            else:
                await self._overview(send, query.get("event"))
        else:
            await _page(send, 404, "Not found", "<p>There is no such page.</p>")

    async def _landing(self, send: Send, token: str) -> None:
        assert self.access is not None
        entry = await self.access.check_link(self.database, token)
        if entry.admin is None:
            assert entry.refusal is not None
            body = f"<p>{escape(REFUSALS[entry.refusal])} {escape(ASK_THE_BOT)}</p>"
            await _page(send, 403, "Link refused", body)
            return
        body = (
            '<form method="post" action="login">'
            f'<input type="hidden" name="token" value="{escape(token)}">'
            '<button type="submit" id="open">Open the dashboard</button></form>'
            "<p>The link works once and for 10 minutes.</p>"
        )
        await _page(send, 200, "Teambot dashboard", body)

    async def _login(self, send: Send, token: str) -> None:
        assert self.access is not None
        entry = await self.access.use_link(self.database, token)
        if entry.admin is None:
            assert entry.refusal is not None
            body = f"<p>{escape(REFUSALS[entry.refusal])} {escape(ASK_THE_BOT)}</p>"
            await _page(send, 403, "Link refused", body)
            return
        await self._enter(send, entry.admin)

    async def _app_landing(self, send: Send) -> None:
        body = (
            '<form method="post" action="app"><input type="hidden" name="init_data" id="init">'
            "</form><p>Open the dashboard from the bot's button in Telegram.</p>"
            f"<script>{APP_SCRIPT}</script>"
        )
        policy = POLICY + b"; script-src 'sha256-" + APP_SCRIPT_HASH + b"'"
        await _page(send, 200, "Teambot dashboard", body, policy)

    async def _app_login(self, send: Send, init_data: str) -> None:
        """Telegram signs initData with the bot's token; it is good for as long as a link
        (Telegram does not expire it), and for an admin only."""
        assert self.access is not None
        try:
            data = safe_parse_webapp_init_data(self._bot_token or "", init_data)
        except ValueError:
            data = None
        if data is None or data.user is None:
            refusal: Refusal | None = Refusal.FORGED
        elif time.time() - data.auth_date.timestamp() > LINK_LIFETIME_SECONDS:
            refusal = Refusal.EXPIRED
        elif data.user.id not in self.access.admin_ids:
            refusal = Refusal.NOT_ADMIN
        else:
            refusal = None
        if refusal is not None or data is None or data.user is None:
            assert refusal is not None
            body = f"<p>{escape(REFUSALS[refusal])} {escape(ASK_THE_BOT)}</p>"
            await _page(send, 403, "Refused", body)
            return
        await self._enter(send, data.user.id)

    async def _enter(self, send: Send, admin: int) -> None:
        assert self.access is not None
        cookie = (
            f"{COOKIE}={self.access.new_session(admin)}; Path={self.cookie_path};"
            f" Max-Age={SESSION_LIFETIME_SECONDS}; HttpOnly; SameSite=Strict"
        )
        if self.secure:
            cookie += "; Secure"
        await _respond(
            send,
            303,
            b"",
            "text/plain; charset=utf-8",
            [(b"location", b"../dashboard"), (b"set-cookie", cookie.encode())],
        )

    async def _overview(self, send: Send, slug: str | None) -> None:
        numbers = await dashboard.overview(self.database, slug)
        if numbers is None:
            await _page(
                send,
                404,
                "No such event",
                '<p>No such event. <a href="dashboard">Back to everyone</a>.</p>',
            )
            return
        await _page(send, 200, _title(numbers), render(numbers))

    async def _export(self, send: Send, path: str, slug: str | None) -> None:
        if path == "/teams.csv":
            members = await dashboard.team_members(self.database, slug)
            data = None if members is None else teams_csv(members)
        else:
            people = await dashboard.still_looking(self.database, slug)
            data = None if people is None else looking_csv(people)
        if data is None:
            await _page(send, 404, "No such event", "<p>No such event.</p>")
            return
        name = f"{slug or 'everyone'}-{path.removeprefix('/').removesuffix('.csv')}.csv"
        disposition = f'attachment; filename="{name}"'.encode()
        await _respond(
            send, 200, data, "text/csv; charset=utf-8", [(b"content-disposition", disposition)]
        )


# --- the page ---------------------------------------------------------------------------


def _title(numbers: Overview) -> str:
    return f"Dashboard: {numbers.event.name}" if numbers.event else "Dashboard: everyone"


def render(numbers: Overview) -> str:
    """The page's body: the selector, the charts, the people still looking."""
    event = numbers.event
    query = f"?event={event.slug}" if event else ""
    links = ['<a href="dashboard">Everyone</a>' if event else "<b>Everyone</b>"]
    for other in numbers.events:
        label = escape(other.name) + (" (ended)" if other.ended else "")
        if event is not None and other.slug == event.slug:
            links.append(f"<b>{label}</b>")
        else:
            links.append(f'<a href="dashboard?event={escape(other.slug)}">{label}</a>')
    header = f'<nav id="events">{" · ".join(links)}</nav>'
    if event is not None:
        state = "ended" if event.ended else "running"
        header += (
            f"<p>{escape(event.name)}: {event.starts_on:%d %b %Y} – {event.ends_on:%d %b %Y},"
            f" {state}. Counts are of the event's pool.</p>"
        )
    exports = (
        f'<p id="exports">Download: <a href="dashboard/teams.csv{escape(query)}" download>'
        f'teams and members (CSV)</a> · <a href="dashboard/looking.csv{escape(query)}" download>'
        "people still looking (CSV)</a></p>"
    )
    days = [f"{day:%d %b}" for day in numbers.days]
    sections = [
        _section("funnel", "Funnel", _funnel(numbers)),
        _section(
            "registrations",
            "Registrations per day (UTC)",
            _bars([("registered", numbers.registrations)], days, sparse=True),
        ),
        _section(
            "requests",
            "Requests per day (UTC): sent, accepted, declined, expired",
            _bars(list(numbers.requests.items()), days, sparse=True, legend=True),
        ),
        _section(
            "join-delays",
            "Time from registering to joining a team",
            _bars(
                [("people", [n for _, n in numbers.join_delays])],
                [label for label, _ in numbers.join_delays],
            ),
        ),
        _section(
            "team-sizes",
            "Teams by size (members)",
            _bars(
                [("teams", [n for _, n in numbers.teams_by_size])],
                [str(size) for size, _ in numbers.teams_by_size],
            ),
        ),
        _section("skills", "Skills offered and sought by people still looking", _skills(numbers)),
        _section(
            "looking",
            f"Still without a team and active: {numbers.looking_total}",
            _people_table(numbers.looking, numbers.looking_total),
        ),
    ]
    return header + exports + "".join(sections)


def _section(ident: str, title: str, content: str) -> str:
    return f'<section id="{ident}"><h2>{escape(title)}</h2>{content}</section>'


def _svg(chart: Any) -> str:
    """The chart as inline SVG, without pygal's script (tooltips we do not load)."""
    tree = chart.render_tree()
    for defs in tree.iter("defs"):
        for script in defs.findall("script"):
            defs.remove(script)
    return ElementTree.tostring(tree, encoding="unicode")


def _config(counts: Sequence[int], **extra: Any) -> dict[str, Any]:
    """pygal's settings for a chart of these counts: whole numbers on the value axis."""
    top = max(counts, default=0)
    step = max(1, math.ceil(top / 8))
    return {
        "y_labels": list(range(0, max(top, 1) + step, step)),
        "js": [],
        "style": CHART_STYLE,
        "disable_xml_declaration": True,
        "print_values": True,
        "print_zeroes": False,
        "show_legend": False,
        "width": 900,
        "height": 280,
        "margin": 12,
        **extra,
    }


def _funnel(numbers: Overview) -> str:
    chart = pygal.HorizontalBar(
        **_config([n for _, n in numbers.funnel], height=60 + 36 * len(numbers.funnel))
    )
    labels = [label for label, _ in numbers.funnel]
    chart.x_labels = list(reversed(labels))  # the first stage on top
    chart.add("people", [n for _, n in reversed(numbers.funnel)])
    started = numbers.funnel[0][1]
    rows = "".join(
        f"<tr><td>{escape(label)}</td><td class=n>{n}</td>"
        f"<td class=n>{(100 * n / started if started else 0):.0f} %</td></tr>"
        for label, n in numbers.funnel
    )
    head = "<tr><th>stage</th><th>people</th><th>of started</th></tr>"
    table = f'<table class="figures">{head}{rows}</table>'
    return _svg(chart) + table


def _bars(
    series: Sequence[tuple[str, Sequence[int]]],
    labels: Sequence[str],
    *,
    sparse: bool = False,
    legend: bool = False,
) -> str:
    if not labels:
        return "<p>Nothing yet.</p>"
    chart = pygal.Bar(
        **_config(
            [n for _, counts in series for n in counts],
            show_legend=legend,
            legend_at_bottom=True,
            x_label_rotation=-45 if sparse else 0,
        )
    )
    chart.x_labels = list(labels)
    if sparse:  # a label every week: thirty would overlap
        chart.x_labels_major = list(labels[::7])
        chart.show_minor_x_labels = False
    for name, values in series:
        chart.add(name, list(values))
    return _svg(chart)


def _skills(numbers: Overview) -> str:
    if not numbers.skills:
        return "<p>Nothing yet.</p>"
    chart = pygal.HorizontalBar(
        **_config(
            [n for _, offered, sought in numbers.skills for n in (offered, sought)],
            show_legend=True,
            legend_at_bottom=True,
            height=90 + 40 * len(numbers.skills),
        )
    )
    chart.x_labels = [skill for skill, _, _ in reversed(numbers.skills)]
    chart.add("offered", [offered for _, offered, _ in reversed(numbers.skills)])
    chart.add("sought", [sought for _, _, sought in reversed(numbers.skills)])
    short = [skill for skill, offered, sought in numbers.skills if sought > offered]
    note = f"<p>Short supply: {escape(', '.join(short))}.</p>" if short else "<p>No shortage.</p>"
    return note + _svg(chart)


def _people_table(people: Sequence[Person], total: int) -> str:
    if not people:
        return "<p>Nobody.</p>"
    head = "".join(
        f"<th>{name}</th>"
        for name in ("name", "username", "type", "skills", "looking for", "links")
    )
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(value)}</td>" for value in _fields(person)) + "</tr>"
        for person in people
    )
    more = (
        f"<p>The {len(people)} most recently active shown; the CSV has all {total}.</p>"
        if total > len(people)
        else ""
    )
    return f'<table class="people"><tr>{head}</tr>{rows}</table>{more}'


# --- CSV ----------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PERSON_COLUMNS = ["name", "username", "type", "skills", "looking_for", "links"]


def _fields(person: Person) -> list[str]:
    return [
        person.display_name,
        person.username or "",
        TYPES.get(person.user_type or "", ""),
        ", ".join(person.skills),
        ", ".join(person.looking_for),
        " ".join(person.links),
    ]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    """UTF-8 with a byte order mark, so that spreadsheets read the names right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        # a cell that starts like a formula is taken as text by spreadsheets (OWASP)
        writer.writerow(["'" + cell if cell[:1] in FORMULA_STARTS else cell for cell in row])
    return "\ufeff".encode() + out.getvalue().encode()


def teams_csv(members: Sequence[Member]) -> bytes:
    rows = [
        [m.team, str(m.size), "owner" if m.owner else "member", *_fields(m.person)] for m in members
    ]
    return _csv(["team", "team_size", "role", *PERSON_COLUMNS], rows)


def looking_csv(people: Sequence[Person]) -> bytes:
    return _csv(PERSON_COLUMNS, [_fields(person) for person in people])


# --- HTTP -----------------------------------------------------------------------------------

PAGE_STYLE = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:960px;
color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}
nav a,nav b{margin-right:.3em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;
text-align:left;vertical-align:top}td.n{text-align:right}
svg{max-width:100%;height:auto;display:block}
button{font-size:1.2em;padding:.5em 1.2em}
"""


async def _page(
    send: Send,
    status: int,
    title: str,
    body: str,
    policy: bytes = POLICY,
) -> None:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{PAGE_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    await _respond(
        send,
        status,
        html.encode(),
        "text/html; charset=utf-8",
        [(b"content-security-policy", policy)],
    )


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _query(scope: dict[str, Any]) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return {key: values[0] for key, values in parse_qs(raw).items() if values}


def _form(body: bytes) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(body.decode("latin-1")).items()}


async def _body(receive: Receive) -> bytes:
    """The request's body, up to MAX_FORM_BYTES (the rest is not read)."""
    body = b""
    while len(body) <= MAX_FORM_BYTES:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return body[:MAX_FORM_BYTES]


def _cookie(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None
