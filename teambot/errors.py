"""Errors that end the process instead of being retried."""

from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound=BaseException)

# sysexits.h
EX_UNAVAILABLE = 69  # PostgreSQL did not answer within DB_CONNECT_TIMEOUT_SECONDS
EX_SOFTWARE = 70  # an actor kept crashing past the restart intensity
EX_CONFIG = 78  # bad configuration, a rejected token, an untrusted TLS certificate


class FatalError(Exception):
    """Restarting cannot help (e.g. the token is rejected): exit with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EX_CONFIG) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def find_error(exc: BaseException, kind: type[E]) -> E | None:
    """The first `kind` inside `exc`, looking inside exception groups."""
    if isinstance(exc, kind):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = find_error(inner, kind)
            if found is not None:
                return found
    return None
