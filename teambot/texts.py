"""User-facing texts, one catalog per language."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "ru")

_CATALOG: Final[dict[str, dict[str, str]]] = {
    "en": {
        "start": (
            "Hi, {name}! I am the Launch Lab teammate finder.\n"
            "I help participants, co-founders and teams find each other. /help tells how."
        ),
        "help": (
            "/start — register or open the menu\n"
            "/search — browse people and teams that match you\n"
            "/help — this message"
        ),
        "throttled": "Slow down a little: try again in {seconds} s.",
        "failed": "Sorry, something went wrong on my side. Please try again.",
        "cmd_start": "Register or open the menu",
        "cmd_help": "How the bot works",
    },
    "ru": {
        "start": (
            "Привет, {name}! Я бот Launch Lab для поиска команды.\n"
            "Помогаю участникам, кофаундерам и командам найти друг друга. Подробнее: /help."
        ),
        "help": (
            "/start — регистрация или меню\n"
            "/search — люди и команды, которые вам подходят\n"
            "/help — эта справка"
        ),
        "throttled": "Слишком часто: попробуйте снова через {seconds} с.",
        "failed": "Извините, у меня что-то пошло не так. Попробуйте ещё раз.",
        "cmd_start": "Регистрация или меню",
        "cmd_help": "Как работает бот",
    },
}


def language_from_code(language_code: str | None) -> str:
    """Telegram's language_code ('ru', 'ru-RU', 'en-GB', None) to one of ours."""
    if language_code and language_code.lower().split("-")[0] == "ru":
        return "ru"
    return "en"


def text(language: str, key: str, **values: object) -> str:
    catalog = _CATALOG.get(language, _CATALOG["en"])
    return catalog[key].format(**values) if values else catalog[key]
