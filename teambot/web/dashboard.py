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
import hashlib
import math
import time
from collections.abc import Sequence
from datetime import date
from html import escape
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pygal
from aiogram.utils.web_app import safe_parse_webapp_init_data
from babel.dates import format_date
from pygal.style import Style

from teambot.adapters.database import TRANSIENT_ERRORS, Database
from teambot.adapters.http import Receive, Send, respond
from teambot.config import Settings
from teambot.services import dashboard
from teambot.services.dashboard import (
    LINK_LIFETIME_SECONDS,
    SESSION_LIFETIME_SECONDS,
    Access,
    Overview,
    Person,
    Refusal,
)
from teambot.texts import DEFAULT_LANGUAGE, LANGUAGES, language_from_code, text

COOKIE = "teambot_dashboard"
# the language chosen on the page (?lang=), over the one the link brought
LANG_COOKIE = "teambot_dashboard_lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600
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
    Refusal.FORGED: "dashboard_page_forged",
    Refusal.EXPIRED: "dashboard_page_expired",
    Refusal.USED: "dashboard_page_used",
    Refusal.NOT_ADMIN: "dashboard_page_not_admin",
}
# The Mini App's page: Telegram hands the signed initData in the URL's fragment, which only
# a script can read; it is posted like the link's token. The only script: allowed by hash.
APP_SCRIPT = (
    "var data = new URLSearchParams(location.hash.slice(1)).get('tgWebAppData');"
    "if (data) { document.getElementById('init').value = data; document.forms[0].submit(); }"
)
APP_SCRIPT_HASH = base64.b64encode(hashlib.sha256(APP_SCRIPT.encode()).digest())
TYPE_TEXTS = {
    "participant": "dashboard_type_participant",
    "cofounder": "dashboard_type_cofounder",
    "team": "dashboard_type_team",
}
STAGE_TEXTS = {
    "started": "dashboard_stage_started",
    "registered": "dashboard_stage_registered",
    "searched": "dashboard_stage_searched",
    "requested": "dashboard_stage_requested",
    "accepted": "dashboard_stage_accepted",
    "in_team": "dashboard_stage_in_team",
}
OUTCOME_TEXTS = {
    "sent": "dashboard_series_sent",
    "accepted": "dashboard_series_accepted",
    "declined": "dashboard_series_declined",
    "expired": "dashboard_series_expired",
}
DELAY_TEXTS = {
    1: "dashboard_delay_hour",
    24: "dashboard_delay_day",
    72: "dashboard_delay_days",
    168: "dashboard_delay_week",
    336: "dashboard_delay_weeks",
    None: "dashboard_delay_more",
}
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
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
        lang = _language(scope, None)
        try:
            await self._serve(scope, receive, send)
        except TRANSIENT_ERRORS:
            await _page(
                send,
                503,
                text(lang, "dashboard_page_try_again"),
                _p(text(lang, "dashboard_page_no_database")),
                lang=lang,
            )

    async def _serve(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if self.access is None:
            lang = _language(scope, None)
            await _page(
                send,
                404,
                text(lang, "dashboard_page_not_configured_title"),
                _p(text(lang, "dashboard_page_not_configured")),
                lang=lang,
            )
            return
        path = scope["path"].removeprefix("/dashboard")
        method = scope["method"]
        query = _query(scope)
        if path == "/login" and method in ("GET", "HEAD"):
            await self._landing(scope, send, query.get("token", ""))
        elif path == "/login" and method == "POST":
            await self._login(scope, send, _form(await _body(receive)).get("token", ""))
        elif path == "/app" and method in ("GET", "HEAD"):
            await self._app_landing(scope, send)
        elif path == "/app" and method == "POST":
            await self._app_login(scope, send, _form(await _body(receive)).get("init_data", ""))
        elif path == "/":  # the page's relative links need it without the slash
            await _respond(send, 308, b"", "text/plain", [(b"location", b"../dashboard")])
        elif path in ("", "/teams.csv", "/looking.csv") and method in ("GET", "HEAD"):
            entry = self.access.check_session(_cookie(scope, COOKIE) or "")
            lang = _language(scope, entry.lang)
            if entry.admin is None:
                refusal = entry.refusal if _cookie(scope, COOKIE) else None
                reason = text(lang, REFUSALS[refusal]) + " " if refusal else ""
                body = _p(reason + text(lang, "dashboard_page_ask_the_bot"))
                await _page(send, 403, text(lang, "dashboard_page_sign_in"), body, lang=lang)
            elif path.endswith(".csv"):
                await self._export(send, path, query.get("event"), lang)
            else:
                await self._overview(send, query.get("event"), lang, "lang" in query)
        else:
            lang = _language(scope, None)
            await _page(
                send,
                404,
                text(lang, "dashboard_page_not_found_title"),
                _p(text(lang, "dashboard_page_not_found")),
                lang=lang,
            )

    async def _refused(self, send: Send, lang: str, refusal: Refusal, title: str) -> None:
        body = _p(f"{text(lang, REFUSALS[refusal])} {text(lang, 'dashboard_page_ask_the_bot')}")
        await _page(send, 403, text(lang, title), body, lang=lang)

    async def _landing(self, scope: dict[str, Any], send: Send, token: str) -> None:
        assert self.access is not None
        entry = await self.access.check_link(self.database, token)
        lang = _language(scope, entry.lang)
        if entry.admin is None:
            assert entry.refusal is not None
            await self._refused(send, lang, entry.refusal, "dashboard_page_refused")
            return
        body = (
            '<form method="post" action="login">'
            f'<input type="hidden" name="token" value="{escape(token)}">'
            f'<button type="submit" id="open">{escape(text(lang, "dashboard_page_open"))}'
            f"</button></form>{_p(text(lang, 'dashboard_page_once'))}"
        )
        await _page(send, 200, "Teambot", body, lang=lang)

    async def _login(self, scope: dict[str, Any], send: Send, token: str) -> None:
        assert self.access is not None
        entry = await self.access.use_link(self.database, token)
        if entry.admin is None:
            assert entry.refusal is not None
            lang = _language(scope, entry.lang)
            await self._refused(send, lang, entry.refusal, "dashboard_page_refused")
            return
        await self._enter(send, entry.admin, entry.lang)

    async def _app_landing(self, scope: dict[str, Any], send: Send) -> None:
        lang = _language(scope, None)
        body = (
            '<form method="post" action="app"><input type="hidden" name="init_data" id="init">'
            f"</form>{_p(text(lang, 'dashboard_page_app'))}"
            f"<script>{APP_SCRIPT}</script>"
        )
        policy = POLICY + b"; script-src 'sha256-" + APP_SCRIPT_HASH + b"'"
        await _page(send, 200, "Teambot", body, policy, lang=lang)

    async def _app_login(self, scope: dict[str, Any], send: Send, init_data: str) -> None:
        """Telegram signs initData with the bot's token; it is good for as long as a link
        (Telegram does not expire it), and for an admin only. The page speaks the language
        of the user's Telegram."""
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
            await self._refused(send, _language(scope, None), refusal, "dashboard_page_refused")
            return
        await self._enter(send, data.user.id, language_from_code(data.user.language_code))

    async def _enter(self, send: Send, admin: int, lang: str | None) -> None:
        assert self.access is not None
        cookie = (
            f"{COOKIE}={self.access.new_session(admin, lang)}; Path={self.cookie_path};"
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

    async def _overview(self, send: Send, slug: str | None, lang: str, chosen: bool) -> None:
        numbers = await dashboard.overview(self.database, slug)
        if numbers is None:
            back = f'<a href="dashboard">{escape(text(lang, "dashboard_page_back"))}</a>'
            body = f"<p>{escape(text(lang, 'dashboard_page_no_event'))} {back}.</p>"
            await _page(send, 404, text(lang, "dashboard_page_no_event"), body, lang=lang)
            return
        headers = []
        if chosen:  # ?lang= on the page: it stays chosen
            cookie = (
                f"{LANG_COOKIE}={lang}; Path={self.cookie_path}; Max-Age={LANG_COOKIE_SECONDS};"
                " HttpOnly; SameSite=Strict" + ("; Secure" if self.secure else "")
            )
            headers.append((b"set-cookie", cookie.encode()))
        await _page(
            send, 200, _title(numbers, lang), render(numbers, lang), lang=lang, headers=headers
        )

    async def _export(self, send: Send, path: str, slug: str | None, lang: str) -> None:
        """CSV in English whatever the page's language: its headers and values are for
        spreadsheets and scripts (the people's own words are as they wrote them)."""
        which = path.removeprefix("/").removesuffix(".csv")
        data = await dashboard.export(self.database, which, slug)
        if data is None:
            title = text(lang, "dashboard_page_no_event")
            await _page(send, 404, title, _p(title), lang=lang)
            return
        name = f"{slug or 'everyone'}-{which}.csv"
        disposition = f'attachment; filename="{name}"'.encode()
        await _respond(
            send, 200, data, "text/csv; charset=utf-8", [(b"content-disposition", disposition)]
        )


def _language(scope: dict[str, Any], carried: str | None) -> str:
    """The page's language: ?lang= (the switch on the page), else the one chosen before
    (its cookie), else the admin's (the link's, carried in the session), else the
    browser's first."""
    chosen = _query(scope).get("lang") or _cookie(scope, LANG_COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    if carried in LANGUAGES:
        return str(carried)
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            return language_from_code(value.decode("latin-1").split(",")[0].strip())
    return DEFAULT_LANGUAGE


def _p(words: str) -> str:
    return f"<p>{escape(words)}</p>"


# --- the page ---------------------------------------------------------------------------


def _title(numbers: Overview, lang: str) -> str:
    if numbers.event:
        return text(lang, "dashboard_page_event", name=numbers.event.name)
    return text(lang, "dashboard_page_everyone")


def _date(day: date, lang: str, pattern: str = "d MMM y") -> str:
    return str(format_date(day, pattern, locale=lang))


def render(numbers: Overview, lang: str = DEFAULT_LANGUAGE) -> str:
    """The page's body: the selector, the charts, the people still looking."""

    def t(key: str, **values: object) -> str:
        return escape(text(lang, key, **values))

    event = numbers.event
    query = f"?event={event.slug}" if event else ""
    links = [
        f'<a href="dashboard">{t("dashboard_page_nav_everyone")}</a>'
        if event
        else f"<b>{t('dashboard_page_nav_everyone')}</b>"
    ]
    for other in numbers.events:
        label = (
            t("dashboard_page_nav_ended", name=other.name) if other.ended else escape(other.name)
        )
        if event is not None and other.slug == event.slug:
            links.append(f"<b>{label}</b>")
        else:
            links.append(f'<a href="dashboard?event={escape(other.slug)}">{label}</a>')
    switch = " · ".join(
        f"<b>{name}</b>"
        if code == lang
        else f'<a href="dashboard?{escape((query.lstrip("?") + "&") if query else "")}'
        f'lang={code}" hreflang="{code}">{name}</a>'
        for code, name in LANGUAGE_NAMES.items()
    )
    header = (
        f'<p id="language">{t("dashboard_page_language")} {switch}</p>'
        f'<nav id="events">{" · ".join(links)}</nav>'
    )
    if event is not None:
        state = "dashboard_page_event_ended" if event.ended else "dashboard_page_event_running"
        header += "<p>{}</p>".format(
            t(
                state,
                name=event.name,
                starts=_date(event.starts_on, lang),
                ends=_date(event.ends_on, lang),
            )
        )
    exports = (
        f'<p id="exports">{t("dashboard_page_download")}'
        f' <a href="dashboard/teams.csv{escape(query)}" download>'
        f"{t('dashboard_page_teams_csv')}</a>"
        f' · <a href="dashboard/looking.csv{escape(query)}" download>'
        f"{t('dashboard_page_looking_csv')}</a></p>"
    )
    days = [_date(day, lang, "d MMM") for day in numbers.days]
    sections = [
        _section("funnel", t("dashboard_page_funnel"), _funnel(numbers, lang)),
        _section(
            "registrations",
            t("dashboard_page_registrations"),
            _bars(
                [(text(lang, "dashboard_series_registered"), numbers.registrations)],
                days,
                lang,
                sparse=True,
            ),
        ),
        _section(
            "requests",
            t("dashboard_page_requests"),
            _bars(
                [(text(lang, OUTCOME_TEXTS[what]), n) for what, n in numbers.requests.items()],
                days,
                lang,
                sparse=True,
                legend=True,
            ),
        ),
        _section(
            "join-delays",
            t("dashboard_page_join_delays"),
            _bars(
                [(text(lang, "dashboard_series_people"), [n for _, n in numbers.join_delays])],
                [text(lang, DELAY_TEXTS[bound]) for bound, _ in numbers.join_delays],
                lang,
            ),
        ),
        _section(
            "team-sizes",
            t("dashboard_page_team_sizes"),
            _bars(
                [(text(lang, "dashboard_series_teams"), [n for _, n in numbers.teams_by_size])],
                [str(size) for size, _ in numbers.teams_by_size],
                lang,
            ),
        ),
        _section("skills", t("dashboard_page_skills"), _skills(numbers, lang)),
        _section(
            "looking",
            t("dashboard_page_looking", count=numbers.looking_total),
            _people_table(numbers.looking, numbers.looking_total, lang),
        ),
    ]
    return header + exports + "".join(sections)


def _section(ident: str, title: str, content: str) -> str:
    """`title` is HTML already (escaped)."""
    return f'<section id="{ident}"><h2>{title}</h2>{content}</section>'


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


def _funnel(numbers: Overview, lang: str) -> str:
    chart = pygal.HorizontalBar(
        **_config([n for _, n in numbers.funnel], height=60 + 36 * len(numbers.funnel))
    )
    labels = [text(lang, STAGE_TEXTS[stage]) for stage, _ in numbers.funnel]
    chart.x_labels = list(reversed(labels))  # the first stage on top
    chart.add(text(lang, "dashboard_series_people"), [n for _, n in reversed(numbers.funnel)])
    started = numbers.funnel[0][1]
    rows = "".join(
        f"<tr><td>{escape(label)}</td><td class=n>{n}</td>"
        f"<td class=n>{(100 * n / started if started else 0):.0f} %</td></tr>"
        for label, (_, n) in zip(labels, numbers.funnel, strict=True)
    )
    head = "".join(
        f"<th>{escape(text(lang, key))}</th>"
        for key in ("dashboard_column_stage", "dashboard_column_people", "dashboard_column_share")
    )
    table = f'<table class="figures"><tr>{head}</tr>{rows}</table>'
    return _svg(chart) + table


def _bars(
    series: Sequence[tuple[str, Sequence[int]]],
    labels: Sequence[str],
    lang: str,
    *,
    sparse: bool = False,
    legend: bool = False,
) -> str:
    if not labels:
        return _p(text(lang, "dashboard_page_nothing_yet"))
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


def _skills(numbers: Overview, lang: str) -> str:
    if not numbers.skills:
        return _p(text(lang, "dashboard_page_nothing_yet"))
    chart = pygal.HorizontalBar(
        **_config(
            [n for _, offered, sought in numbers.skills for n in (offered, sought)],
            show_legend=True,
            legend_at_bottom=True,
            height=90 + 40 * len(numbers.skills),
        )
    )
    chart.x_labels = [skill for skill, _, _ in reversed(numbers.skills)]
    chart.add(
        text(lang, "dashboard_series_offered"),
        [offered for _, offered, _ in reversed(numbers.skills)],
    )
    chart.add(
        text(lang, "dashboard_series_sought"), [sought for _, _, sought in reversed(numbers.skills)]
    )
    short = [skill for skill, offered, sought in numbers.skills if sought > offered]
    note = (
        text(lang, "dashboard_page_short_supply", skills=", ".join(short))
        if short
        else text(lang, "dashboard_page_no_shortage")
    )
    return _p(note) + _svg(chart)


PEOPLE_COLUMNS = (
    "dashboard_column_name",
    "dashboard_column_username",
    "dashboard_column_type",
    "dashboard_column_skills",
    "dashboard_column_looking_for",
    "dashboard_column_links",
)


def _people_table(people: Sequence[Person], total: int, lang: str) -> str:
    if not people:
        return _p(text(lang, "dashboard_page_nobody"))
    head = "".join(f"<th>{escape(text(lang, key))}</th>" for key in PEOPLE_COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(value)}</td>" for value in _fields(person, lang)) + "</tr>"
        for person in people
    )
    more = (
        _p(text(lang, "dashboard_page_more", shown=len(people), total=total))
        if total > len(people)
        else ""
    )
    return f'<table class="people"><tr>{head}</tr>{rows}</table>{more}'


def _fields(person: Person, lang: str) -> list[str]:
    """A person's cells in the table of people still looking."""
    kind = person.user_type or ""
    return [
        person.display_name,
        person.username or "",
        text(lang, TYPE_TEXTS[kind]) if kind in TYPE_TEXTS else "",
        ", ".join(person.skills),
        ", ".join(person.looking_for),
        " ".join(person.links),
    ]


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
    *,
    lang: str = DEFAULT_LANGUAGE,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{PAGE_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    await _respond(
        send,
        status,
        html.encode(),
        "text/html; charset=utf-8",
        [(b"content-security-policy", policy), *headers],
    )


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    await respond(send, status, body, content_type, [*SECURITY_HEADERS, *headers])


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


def _cookie(scope: dict[str, Any], cookie: str) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                return None
            if cookie in jar:
                return jar[cookie].value
    return None
