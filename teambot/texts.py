"""User-facing texts: one Project Fluent file per language in teambot/locales/.

Fluent is what translators and their tools read; its selectors give real plural forms
(CLDR: 1 участник, 2 участника, 5 участников). Message ids are literals in the code, never
built at run time, so tests/test_texts.py can check each one exists in every language.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

from fluent.runtime import FluentBundle, FluentResource
from loguru import logger

LANGUAGES: Final = ("en", "ru")
DEFAULT_LANGUAGE: Final = "en"


def locale_source(language: str) -> str:
    return (resources.files("teambot") / "locales" / f"{language}.ftl").read_text("utf-8")


@cache
def _bundle(language: str) -> FluentBundle:
    # no Unicode isolation marks around values: Telegram shows them as stray characters
    bundle = FluentBundle([language], use_isolating=False)
    bundle.add_resource(FluentResource(locale_source(language)))
    return bundle


def language_from_code(language_code: str | None) -> str:
    """Telegram's language_code ('ru', 'ru-RU', 'en-GB', None) to one of ours."""
    if language_code and language_code.lower().split("-")[0] == "ru":
        return "ru"
    return DEFAULT_LANGUAGE


def text(language: str, key: str, **values: object) -> str:
    """The message `key` in `language`. Numbers select plural forms; Telegram ids and other
    numbers that must not be grouped ("1 234 567") are passed as strings."""
    bundle = _bundle(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    message = bundle.get_message(key)  # KeyError for an unknown id: a bug the tests catch
    assert message.value is not None, key
    result, errors = bundle.format_pattern(message.value, values)
    for error in errors:  # a missing variable: show the rest rather than fail the update
        logger.bind(actor="texts").error("text {} ({}): {}", key, language, error)
    return str(result)
