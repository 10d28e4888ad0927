"""Who may find whom, and how an invitation between two roles is called."""

from __future__ import annotations

from typing import Final

VISIBLE: Final[dict[str, tuple[str, ...]]] = {
    "participant": ("team",),
    "team": ("participant", "cofounder"),
    "cofounder": ("cofounder", "team"),
}


def visible_types(user_type: str) -> list[str]:
    return list(VISIBLE.get(user_type, ()))


def invitation_kind(sender_type: str, recipient_type: str) -> str | None:
    """invite (team → person), request (person → team), connect (cofounder ↔ cofounder)."""
    if recipient_type not in VISIBLE.get(sender_type, ()):
        return None
    if sender_type == "team":
        return "invite"
    if recipient_type == "team":
        return "request"
    return "connect"


def visibility_pairs() -> list[str]:
    """Every "seer:seen" pair of user types, for queries that check visibility in SQL."""
    return [f"{seer}:{seen}" for seer, seen_types in VISIBLE.items() for seen in seen_types]
