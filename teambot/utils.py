"""Small helpers shared by the routers."""

from __future__ import annotations

import html


def escape(value: str) -> str:
    """Text a user wrote, made safe for Telegram's HTML parse mode."""
    return html.escape(value, quote=False)
