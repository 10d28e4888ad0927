"""The matching fields (issue 12) as people meet them: asked in the registration dialogue
with buttons, each skippable; a time zone from a city or an offset; links that become URL
buttons, bad ones refused politely; preferences at three levels; the once-made offer to old
profiles; forged and stale presses answered. Through the fake Bot API, in both languages."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from teambot.config import Settings
from teambot.services import matching_fields
from teambot.services.matching_fields import LinkRefusal
from teambot.texts import text
from tests.conftest import running
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_conversations import settle
from tests.test_registration_input import failures
from tests.test_teams import seed

pytestmark = pytest.mark.anyio


class Person:
    def __init__(self, telegram: FakeTelegram, user: int, lang: str) -> None:
        self.telegram, self.user, self.lang = telegram, user, lang
        self.presses: list[int] = []

    async def say(self, words: str) -> None:
        self.telegram.send_text(self.user, words, first_name="Ann", language_code=self.lang)
        await settle(self.telegram)

    async def tap(self, label: str) -> None:
        """Press a button by its label; a message id, e.g. `pf_skip_rest`, is shown text."""
        self.presses.append(self.telegram.press(self.user, label, language_code=self.lang))
        await settle(self.telegram)

    async def tap_text(self, message_id: str, **values: Any) -> None:
        await self.tap(text(self.lang, message_id, **values))

    async def press_data(self, message: SentMessage, data: str) -> str | None:
        """A press with any data under `message`; what the bot answered it."""
        update = self.telegram.press_button(
            self.user, message.message_id, data, language_code=self.lang
        )
        self.presses.append(update)
        await settle(self.telegram)
        return answer_to(self.telegram, update)

    def last(self) -> SentMessage:
        return self.telegram.last_message(self.user)


def answer_to(telegram: FakeTelegram, update: int) -> str | None:
    query = telegram.callback_query_id(update)
    answers = [a for a in telegram.callback_answers if a[0] == query]
    assert len(answers) == 1, answers  # every press is answered, once
    return answers[0][1]


def row(settings: Settings, user: int) -> dict[str, Any]:
    with psycopg.connect(settings.database_conninfo() or "", row_factory=dict_row) as conn:
        found = conn.execute(
            "select u.*, t.size_limit from users u left join teams t on t.owner_id = u.id"
            " where u.id = %s",
            (user,),
        ).fetchone()
    assert found is not None
    return found


def url_buttons(message: SentMessage) -> list[tuple[str, str]]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [(b["text"], b["url"]) for r in rows for b in r if "url" in b]


async def core_steps(ann: Person, role: str) -> None:
    """/start to the end of the questions registration always had (bio skipped)."""
    roles = {"participant": "role_participant", "cofounder": "role_cofounder", "team": "role_team"}
    await ann.say("/start")
    await ann.tap("English" if ann.lang == "en" else "Русский")
    await ann.tap_text(roles[role])
    await ann.tap(ann.last().buttons[0])  # the Telegram name
    await ann.say("python")
    await ann.tap_text("done")
    await ann.say("design")
    await ann.tap_text("done")
    await ann.tap_text("skip")  # the bio
    if role == "team":
        await ann.say("Rocket")
        await ann.tap_text("skip")  # the description


# --- registration


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_cofounder_answers_the_new_questions_with_buttons_and_sees_them_on_the_card(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    ann = Person(telegram, 1, lang)
    async with running(settings) as app:
        await core_steps(ann, "cofounder")
        hours_prompt = ann.last()
        await ann.tap_text("pf_hours_value", value="twenty_to_40")
        await ann.tap_text("pf_from_value", value="month")
        await ann.tap("UTC+3")
        await ann.tap_text("pf_mode_value", value="on_site")
        await ann.say("Berlin")
        await ann.tap_text("pf_role_value", value="technical")
        await ann.tap_text("pf_stage_value", value="prototype")
        languages = ann.last()
        await ann.tap("Deutsch")
        await ann.tap_text("done")
        await ann.say("github.com/ann")
        await ann.tap_text("done")
        confirm = ann.last()
        await ann.tap_text("confirm")
        await ann.say("/profile")
        card = ann.last()
        failed = failures(app)
    stored = row(settings, 1)
    assert failed == 0
    assert hours_prompt.text == text(lang, "pf_ask_hours")
    assert text(lang, "skip") in hours_prompt.buttons
    # the bot's language comes chosen
    assert ("✓ Русский" if lang == "ru" else "✓ English") in languages.buttons
    assert {key: stored[key] for key in ("hours_per_week", "available_from", "time_zone")} == {
        "hours_per_week": "20_40",
        "available_from": "month",
        "time_zone": "UTC+03:00",
    }
    assert (stored["utc_offset"], stored["work_mode"], stored["city"]) == (180, "on_site", "Berlin")
    assert (stored["role_focus"], stored["stage"]) == ("technical", "prototype")
    assert stored["languages"] == ([lang, "de"] if lang == "en" else ["ru", "de"])
    assert stored["links"] == ["https://github.com/ann"]
    assert stored["fields_offered_at"] is not None  # asked: never offered again on /search
    lines = {
        "en": [
            "Commitment: 20–40 h a week, within a month",
            "Time zone: UTC+03:00",
            "Works: on site · Berlin",
            "Focus: technical",
            "Stage: a prototype",
            "Speaks: English, Deutsch",
        ],
        "ru": [
            "Время: 20–40 ч в неделю, в течение месяца",
            "Часовой пояс: UTC+03:00",
            "Формат: на месте · Berlin",
            "Направление: разработка",
            "Стадия: прототип",
            "Языки: Русский, Deutsch",
        ],
    }[lang]
    for line in lines:
        assert line in confirm.text.splitlines()
        assert line in card.text.splitlines()
    assert ("Links: GitHub" if lang == "en" else "Ссылки: GitHub") in confirm.text
    assert url_buttons(card) == [("GitHub", "https://github.com/ann")]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_team_says_which_roles_it_needs_and_how_big_it_may_grow(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    ann = Person(telegram, 1, lang)
    async with running(settings):
        await core_steps(ann, "team")
        await ann.tap_text("skip")  # hours
        await ann.tap_text("skip")  # time zone
        await ann.tap_text("pf_mode_value", value="remote")  # no city asked
        needs = ann.last()
        await ann.tap_text("pf_role_value", value="design")
        await ann.tap_text("pf_role_value", value="business")
        await ann.tap("✓ " + text(lang, "pf_role_value", value="design"))  # changed their mind
        await ann.tap_text("pf_role_value", value="product")
        await ann.tap_text("done")
        await ann.tap("5")
        await ann.tap_text("pf_skip_rest")
        confirm = ann.last()
        await ann.tap_text("confirm")
    stored = row(settings, 1)
    assert needs.text == text(lang, "pf_ask_needs")
    assert stored["wanted_roles"] == ["product", "business"]
    assert (stored["size_limit"], stored["work_mode"], stored["city"]) == (5, "remote", None)
    assert stored["stage"] is None and stored["languages"] == []  # finished later
    expected = {
        "en": ["Needs: product, business / sales", "Team of up to 5 people", "Works: remote"],
        "ru": ["Нужны: продукт, бизнес и продажи", "Команда до 5 человек", "Формат: удалённо"],
    }[lang]
    for line in expected:
        assert line in confirm.text.splitlines()


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_working_either_way_names_the_city_for_on_site_and_remote_forgets_it(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    ann = Person(telegram, 1, lang)
    async with running(settings) as app:
        await core_steps(ann, "participant")
        await ann.tap_text("skip")  # hours
        await ann.tap_text("skip")  # time zone
        await ann.tap_text("pf_mode_value", value="either")
        city_prompt = ann.last()
        await ann.say("Lisbon")
        await ann.tap_text("pf_skip_rest")
        await ann.tap_text("confirm")
        await ann.say("/profile")
        card = ann.last()
        either = row(settings, 1)
        await ann.tap_text("action_edit")
        await ann.tap_text("pf_edit_work_mode")
        await ann.tap_text("pf_mode_value", value="remote")  # no city asked: and none kept
        await ann.tap_text("confirm")
        failed = failures(app)
    assert failed == 0
    assert city_prompt.text == text(lang, "pf_ask_city", max=100)
    assert (either["work_mode"], either["city"]) == ("either", "Lisbon")
    works = text(lang, "pf_card_work_mode") + ": " + text(lang, "pf_mode_value", value="either")
    assert works + " · Lisbon" in card.text.splitlines()
    assert (row(settings, 1)["work_mode"], row(settings, 1)["city"]) == ("remote", None)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_every_new_question_can_be_skipped_and_a_new_profile_is_never_offered_them(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    ann = Person(telegram, 1, lang)
    seed(settings.database_conninfo() or "", 10, role="team", wants=("python",))
    async with running(settings):
        await core_steps(ann, "participant")
        asked = []
        while text(lang, "confirm") not in ann.last().buttons:
            asked.append(ann.last().text.splitlines()[0])
            await ann.tap_text("skip")
        await ann.tap_text("confirm")
        registered = ann.last().text
        await ann.say("/search")
        await ann.say("/search")
        chat = [m.text for m in telegram.messages(1)]
    stored = row(settings, 1)
    assert len(asked) == 6  # hours, time zone, work mode, focus, languages, links (no stage)
    assert registered.startswith(text(lang, "registered")[:10])
    assert stored["hours_per_week"] is None and stored["time_zone"] is None
    assert stored["languages"] == [] and stored["links"] == []
    assert text(lang, "pf_offer") not in chat


# --- time zones


async def _edit_time_zone(ann: Person, typed: str) -> SentMessage:
    await ann.say("/profile")
    await ann.tap_text("action_edit")
    await ann.tap_text("pf_edit_time_zone")
    await ann.say(typed)
    return ann.last()


@pytest.mark.parametrize(
    ("lang", "typed", "zone", "offset"),
    [
        ("en", "Berlin", "Europe/Berlin", (60, 120)),
        ("en", "new york", "America/New_York", (-300, -240)),
        ("ru", "Москва", "Europe/Moscow", (180,)),
        ("ru", "Санкт-Петербург", "Europe/Moscow", (180,)),
        ("en", "Europe/Lisbon", "Europe/Lisbon", (0, 60)),
        ("en", "UTC-4", "UTC-04:00", (-240,)),
        ("ru", "GMT+3", "UTC+03:00", (180,)),
        ("en", "+05:30", "UTC+05:30", (330,)),
    ],
)
async def test_a_time_zone_comes_from_a_city_or_an_offset(
    telegram: FakeTelegram,
    settings: Settings,
    lang: str,
    typed: str,
    zone: str,
    offset: tuple[int, ...],
) -> None:
    seed(settings.database_conninfo() or "", 1, lang=lang)
    ann = Person(telegram, 1, lang)
    async with running(settings):
        confirm = await _edit_time_zone(ann, typed)
        await ann.tap_text("confirm")
    stored = row(settings, 1)
    assert (stored["time_zone"], stored["utc_offset"] in offset) == (zone, True)
    assert f"{text(lang, 'pf_card_time_zone')}: {zone}" in confirm.text


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_unknown_city_is_refused_politely_with_a_way_out(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    seed(settings.database_conninfo() or "", 1, lang=lang)
    ann = Person(telegram, 1, lang)
    async with running(settings) as app:
        refused = await _edit_time_zone(ann, "Atlantis <b>")
        await ann.say("UTC+2")
        await ann.tap_text("confirm")
        failed = failures(app)
    assert (
        refused.text
        == {
            "en": "I don't know the city «Atlantis <b>». Try a bigger city nearby (for example "
            "Berlin), or send your offset from UTC, such as UTC+3 or -4. The buttons above work "
            "too.",
            "ru": "Не знаю город «Atlantis <b>». Попробуйте большой город рядом (например, Москва) "
            "или пришлите смещение от UTC, например UTC+3 или -4. Кнопки выше тоже работают.",
        }[lang]
    )
    assert (row(settings, 1)["time_zone"], failed) == ("UTC+02:00", 0)


# --- links


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_links_become_url_buttons_and_bad_ones_are_refused_saying_what_was_typed(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1, lang=lang, skills=("design",), wants=("python",))
    seed(url, 10, role="team", lang=lang, skills=("python",), wants=("design",))
    ann = Person(telegram, 1, lang)
    async with running(settings) as app:
        await ann.say("/profile")
        await ann.tap_text("action_edit")
        await ann.tap_text("pf_edit_links")
        await ann.say("javascript:alert(1) github.com/ann http://example.org/me")
        unsafe = telegram.messages(1)[-2].text
        await ann.say("https://nohost")
        no_host = ann.last().text
        await ann.say("www.linkedin.com/in/ann dribbble.com/ann")
        over = telegram.messages(1)[-2].text
        await ann.tap_text("done")
        await ann.tap_text("confirm")
        await ann.say("/profile")
        card = ann.last()
        telegram.send_text(10, "/search", language_code=lang)
        await settle(telegram)
        search_card = telegram.last_message(10)
        failed = failures(app)
    expected = [
        ("GitHub", "https://github.com/ann"),
        ("example.org", "https://example.org/me"),  # http: upgraded
        ("LinkedIn", "https://www.linkedin.com/in/ann"),
    ]
    assert failed == 0
    assert row(settings, 1)["links"] == [link for _, link in expected]
    assert url_buttons(card) == expected
    assert url_buttons(search_card) == expected
    assert {
        "en": "Not added: «javascript:alert(1)». Only ordinary web pages (https) can go on a card.",
        "ru": "Не добавлено: «javascript:alert(1)». На карточку можно поставить только обычную "
        "веб-страницу (https).",
    }[lang] == unsafe
    assert no_host.startswith(
        {"en": "Not added: «https://nohost» does not look", "ru": "Не добавлено: «https://nohost»"}[
            lang
        ]
    )
    assert "«dribbble.com/ann»" in over and ("up to 3" in over or "до 3" in over)


# --- preferences


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_the_preferences_screen_sets_how_much_each_field_matters(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    seed(settings.database_conninfo() or "", 1, lang=lang)
    ann = Person(telegram, 1, lang)

    def pref(name: str, level: str) -> str:
        return (
            f"{text(lang, 'pf_pref_name', pref=name)} · {text(lang, 'pf_level_value', value=level)}"
        )

    async with running(settings) as app:
        await ann.say("/profile")
        card = ann.last()
        await ann.tap_text("action_preferences")
        listed = ann.last()
        await ann.tap(pref("commitment", "dont_care"))
        await ann.tap_text("pf_level_value", value="must")
        await ann.tap_text("edit_back")
        await ann.tap(pref("time_zone", "dont_care"))
        await ann.tap_text("pf_level_value", value="nice")
        await ann.tap_text("pf_hours_within", hours="6")
        time_zone_screen = ann.last()
        await ann.tap_text("edit_back")
        await ann.tap(pref("role", "dont_care"))
        await ann.tap_text("pf_level_value", value="must")
        await ann.tap_text("pf_role_value", value="design")
        await ann.tap_text("pf_role_value", value="technical")
        role_screen = ann.last()
        await ann.tap_text("edit_back")
        back = ann.last()
        failed = failures(app)
    stored = row(settings, 1)
    assert failed == 0
    assert listed.message_id == card.message_id  # in place: one card, one keyboard
    assert listed.buttons[0] == pref("commitment", "dont_care")
    assert (stored["want_commitment"], stored["want_time_zone"], stored["time_zone_hours"]) == (
        2,
        1,
        6,
    )
    assert (stored["want_role"], stored["wanted_roles"]) == (2, ["technical", "design"])
    assert f"✓ {text(lang, 'pf_level_value', value='must')}" in role_screen.buttons
    assert pref("commitment", "must") in back.buttons
    assert text(lang, "pf_pref_time_zone_unset") in time_zone_screen.text  # none of mine yet
    assert f"✓ {text(lang, 'pf_hours_within', hours='6')}" in time_zone_screen.buttons
    assert pref("time_zone", "nice") in back.buttons


# --- the once-made offer to profiles registered before the fields


def _make_old(settings: Settings, user: int) -> None:
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        conn.execute("update users set fields_offered_at = null where id = %s", (user,))


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_old_profile_is_offered_the_new_fields_once_and_still_gets_its_results(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    url = settings.database_conninfo() or ""
    seed(url, 1, lang=lang)
    seed(url, 2, lang=lang)
    seed(url, 10, role="team", lang=lang, skills=("design",), wants=("python",))
    _make_old(settings, 1)
    _make_old(settings, 2)
    ann, ben = Person(telegram, 1, lang), Person(telegram, 2, lang)
    async with running(settings) as app:
        await ann.say("/search")
        first = [m.text for m in telegram.messages(1)]
        await ann.say("/search")
        second = [m.text for m in telegram.messages(1)][len(first) :]
        await ann.tap_text("pf_offer_complete")
        walk = ann.last()
        await ann.tap_text("pf_hours_value", value="full_time")
        await ann.tap_text("pf_from_value", value="now")
        await ann.tap_text("pf_skip_rest")
        await ann.tap_text("confirm")
        await ben.say("/search")
        await ben.tap_text("pf_offer_later")
        later = telegram.messages(2)[-2]
        failed = failures(app)
    assert failed == 0
    assert first[0] == text(lang, "pf_offer")
    assert first[1].startswith("User10")  # the results still come
    assert second and text(lang, "pf_offer") not in second and second[0].startswith("User10")
    assert walk.text == text(lang, "pf_ask_hours")
    assert (row(settings, 1)["hours_per_week"], row(settings, 1)["available_from"]) == (
        "full_time",
        "now",
    )
    assert (later.text, later.buttons) == (text(lang, "pf_offer_later_answer"), [])


# --- forged and stale presses


async def test_forged_and_stale_presses_get_a_short_answer(
    telegram: FakeTelegram, settings: Settings
) -> None:
    ann = Person(telegram, 1, "en")
    stale = text("en", "stale_button")
    async with running(settings) as app:
        await core_steps(ann, "participant")
        hours = ann.last()
        forged_value = await ann.press_data(hours, "pf:hours:forever")
        wrong_step = await ann.press_data(hours, "pf:stage:idea")
        forged_detail = await ann.press_data(hours, "pf:galaxy:far")
        team_toggle = await ann.press_data(hours, "pft:focus:design")  # not a team
        await ann.tap_text("pf_hours_value", value="under_10")
        again = await ann.press_data(hours, hours.callback_data(hours.buttons[1]) or "")
        skip_earlier = await ann.press_data(hours, "pfs:hours:skip")
        await ann.tap_text("pf_skip_rest")
        await ann.tap_text("confirm")
        await ann.say("/profile")
        card = ann.last()
        forged_level = await ann.press_data(card, "prefl:commitment:max")
        forged_hours = await ann.press_data(card, "prefh:24")
        crossed = await ann.press_data(card, "prefw:role:idea")  # a stage among roles
        rest_in_edit = await ann.press_data(card, "pfs:links:rest")
        # a stranger (never registered) presses buttons of these kinds
        telegram.send_text(5, "hi")
        await settle(telegram)
        stranger = telegram.press_button(5, 1, "pfo:complete")
        stranger_pref = telegram.press_button(5, 1, "prefl:commitment:must")
        await settle(telegram)
        failed = failures(app)
    for answer in (
        forged_value,
        wrong_step,
        forged_detail,
        team_toggle,
        again,
        skip_earlier,
        forged_level,
        forged_hours,
        crossed,
        rest_in_edit,
    ):
        assert answer == stale
    assert answer_to(telegram, stranger) == stale
    assert answer_to(telegram, stranger_pref) == stale
    assert row(settings, 1)["hours_per_week"] == "under_10"
    assert row(settings, 1)["want_commitment"] == 0
    assert failed == 0


async def test_presses_of_these_buttons_in_a_group_only_point_to_the_private_chat(
    telegram: FakeTelegram, settings: Settings
) -> None:
    group = -4242
    seed(settings.database_conninfo() or "", 1)
    async with running(settings) as app:
        telegram.send_text(1, "/profile", first_name="User1", chat_id=group)
        await settle(telegram)
        pointer = telegram.messages(group)[0].message_id
        presses = [
            telegram.press_button(1, pointer, data, chat_id=group)
            for data in ("pf:hours:now", "pfo:complete", "prefl:commitment:must", "pref:all")
        ]
        await settle(telegram)
        failed = failures(app)
    assert {answer_to(telegram, update) for update in presses} == {
        text("en", "private_only_button")
    }
    assert len(telegram.messages(group)) == 1  # no card, no preferences there
    assert row(settings, 1)["want_commitment"] == 0 and failed == 0


# --- the rules themselves, case by case


@pytest.mark.parametrize(
    ("typed", "zone", "offset"),
    [
        ("UTC+14", "UTC+14:00", 840),
        ("utc -12", "UTC-12:00", -720),
        ("+05:45", "UTC+05:45", 345),
        ("GMT", "UTC+00:00", 0),
        ("ho chi minh", "Asia/Ho_Chi_Minh", 420),
        ("ЕКАТЕРИНБУРГ", "Asia/Yekaterinburg", 300),
        ("Ростов-на-Дону", "Europe/Moscow", 180),
        ("asia/tokyo", "Asia/Tokyo", 540),
    ],
)
def test_time_zones_read_from_text(typed: str, zone: str, offset: int) -> None:
    assert matching_fields.read_time_zone(typed) == matching_fields.TimeZone(zone, offset)


@pytest.mark.parametrize(
    "typed", ["UTC+15", "-13", "+05:20", "+5:99", "Atlantis", "", "x" * 65, "Etc/GMT+3"]
)
def test_what_is_no_time_zone(typed: str) -> None:
    assert matching_fields.read_time_zone(typed) is None


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("github.com/ann", "https://github.com/ann"),
        ("HTTPS://GitHub.com/Ann", "https://GitHub.com/Ann"),
        ("http://example.org", "https://example.org"),
        ("example.org:8443/me", "https://example.org:8443/me"),
        ("javascript:alert(1)", LinkRefusal.UNSAFE),
        ("JavaScript://example.org/%0Aalert(1)", LinkRefusal.UNSAFE),
        ("data:text/html,hi", LinkRefusal.UNSAFE),
        ("mailto:ann@example.org", LinkRefusal.UNSAFE),
        ("ftp://example.org", LinkRefusal.UNSAFE),
        ("https://github.com@evil.example", LinkRefusal.UNSAFE),
        ("https://localhost/x", LinkRefusal.NOT_A_LINK),
        ("https://10.0.0.1", LinkRefusal.NOT_A_LINK),
        ("https://exa mple.org", LinkRefusal.NOT_A_LINK),
        ("https://-bad-.org", LinkRefusal.NOT_A_LINK),
        ("https://example.org:port", LinkRefusal.NOT_A_LINK),
        ("example.org/" + "x" * 200, LinkRefusal.TOO_LONG),
    ],
)
def test_links_read_from_text(typed: str, read: str | LinkRefusal) -> None:
    assert matching_fields.read_link(typed) == read


def test_a_fourth_link_and_a_repeated_one_are_named_not_dropped() -> None:
    typed = matching_fields.add_links(
        ["https://a.io", "https://b.io"], "b.io c.io d.io javascript:x"
    )
    assert typed.kept == ["https://a.io", "https://b.io", "https://c.io"]
    assert (typed.repeated, typed.over_limit) == (["b.io"], ["d.io"])
    assert typed.refused == [("javascript:x", LinkRefusal.UNSAFE)]
    assert [
        matching_fields.link_label(u) for u in ("https://www.github.com/a", "https://a.io")
    ] == [
        "GitHub",
        "a.io",
    ]
