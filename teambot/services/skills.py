"""Skill tags: a curated list plus free tags, normalized so that "Python", "python " and
"питон" are one tag."""

from __future__ import annotations

import re
import unicodedata
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


def normalize_tag(raw: str) -> str | None:
    """One canonical tag, or None for something that is not a tag at all."""
    tag = unicodedata.normalize("NFKC", raw).strip().lower().lstrip("#")
    tag = _SPACES.sub(" ", tag)
    if not tag or len(tag) > MAX_TAG_LENGTH or not _ALLOWED.match(tag):
        return None
    return _SYNONYMS.get(tag, tag)


def parse_tags(text: str) -> list[str]:
    """Tags from free text ("Python, ML; дизайн"), normalized, without repeats, in order."""
    seen: list[str] = []
    for part in _SEPARATORS.split(text):
        tag = normalize_tag(part)
        if tag is not None and tag not in seen:
            seen.append(tag)
    return seen


def merge(current: list[str], new: list[str]) -> tuple[list[str], list[str]]:
    """Add `new` to `current` up to MAX_SKILLS; returns (kept, refused)."""
    kept = list(current)
    refused: list[str] = []
    for tag in new:
        if tag in kept:
            continue
        if len(kept) >= MAX_SKILLS:
            refused.append(tag)
        else:
            kept.append(tag)
    return kept, refused
