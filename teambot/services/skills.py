"""Skill tags: a curated list plus free tags, normalized so that "Python", "python " and
"питон" are one tag."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_SKILLS: Final = 10
MAX_TAG_LENGTH: Final = 32

# What the registration keyboard offers; free tags may be added.
CURATED: Final = (
    "python",
    "javascript",
    "typescript",
    "go",
    "java",
    "rust",
    "mobile",
    "frontend",
    "backend",
    "devops",
    "ml",
    "data",
    "design",
    "product",
    "marketing",
    "sales",
    "finance",
    "legal",
)

# Spellings people use for the same skill, Russian included.
_SYNONYMS: Final = {
    "питон": "python",
    "пайтон": "python",
    "py": "python",
    "python3": "python",
    "js": "javascript",
    "джаваскрипт": "javascript",
    "node": "javascript",
    "nodejs": "javascript",
    "node.js": "javascript",
    "ts": "typescript",
    "golang": "go",
    "го": "go",
    "джава": "java",
    "раст": "rust",
    "ios": "mobile",
    "android": "mobile",
    "мобильная разработка": "mobile",
    "фронтенд": "frontend",
    "front-end": "frontend",
    "бэкенд": "backend",
    "back-end": "backend",
    "бекенд": "backend",
    "machine learning": "ml",
    "ai": "ml",
    "машинное обучение": "ml",
    "мл": "ml",
    "data science": "data",
    "аналитика": "data",
    "данные": "data",
    "ux": "design",
    "ui": "design",
    "ui/ux": "design",
    "дизайн": "design",
    "продукт": "product",
    "product management": "product",
    "маркетинг": "marketing",
    "продажи": "sales",
    "финансы": "finance",
    "юрист": "legal",
    "право": "legal",
}

_SEPARATORS = re.compile(r"[,;\n]+")
_SPACES = re.compile(r"\s+")
_ALLOWED = re.compile(r"^[\w.+#/ -]+$")


class Refusal(StrEnum):
    """Why a piece of typed text did not become a tag; each is told to the person."""

    NOT_A_TAG = "not_a_tag"  # other characters than letters, digits and . + # / -
    TOO_LONG = "too_long"  # longer than MAX_TAG_LENGTH


@dataclass(frozen=True)
class TypedTags:
    """What a typed list of tags ("Python, ML; 🚀🚀") gave: nothing typed is dropped unsaid."""

    tags: list[str]  # normalized, each once, in the order typed
    refused: list[tuple[str, Refusal]]  # the pieces as typed, with the reason
    repeated: list[str]  # tags the text named more than once ("python, Python, питон")


def _clean(raw: str) -> str:
    tag = unicodedata.normalize("NFKC", raw).strip().lower().lstrip("#")
    return _SPACES.sub(" ", tag).strip()


def _refusal(tag: str) -> Refusal | None:
    if len(tag) > MAX_TAG_LENGTH:
        return Refusal.TOO_LONG
    if not _ALLOWED.match(tag) or not any(c.isalnum() for c in tag):
        return Refusal.NOT_A_TAG
    return None


def normalize_tag(raw: str) -> str | None:
    """One canonical tag, or None for something that is not a tag at all."""
    tag = _clean(raw)
    if not tag or _refusal(tag) is not None:
        return None
    return _SYNONYMS.get(tag, tag)


def read_tags(text: str) -> TypedTags:
    """Tags from free text, separated by commas, semicolons or new lines."""
    tags: list[str] = []
    refused: list[tuple[str, Refusal]] = []
    repeated: list[str] = []
    for part in _SEPARATORS.split(text):
        if not part.strip():
            continue  # ", ," or a trailing comma: nothing was typed there
        cleaned = _clean(part)
        reason = _refusal(cleaned) if cleaned else Refusal.NOT_A_TAG
        if reason is not None:
            refused.append((part.strip(), reason))
            continue
        tag = _SYNONYMS.get(cleaned, cleaned)
        if tag not in tags:
            tags.append(tag)
        elif tag not in repeated:
            repeated.append(tag)
    return TypedTags(tags, refused, repeated)


def parse_tags(text: str) -> list[str]:
    """The tags of free text ("Python, ML; дизайн"), normalized, without repeats, in order."""
    return read_tags(text).tags


@dataclass(frozen=True)
class Merged:
    kept: list[str]  # the list now
    already: list[str]  # new tags that were on the list before
    over_limit: list[str]  # new tags left out: the list holds MAX_SKILLS


def merge(current: list[str], new: list[str]) -> Merged:
    """Add `new` to `current` up to MAX_SKILLS."""
    kept = list(current)
    already: list[str] = []
    over_limit: list[str] = []
    for tag in new:
        if tag in kept:
            already.append(tag)
        elif len(kept) >= MAX_SKILLS:
            over_limit.append(tag)
        else:
            kept.append(tag)
    return Merged(kept, already, over_limit)
