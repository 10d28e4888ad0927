"""Settings from the environment and `.env`, validated once at start-up.

Bad settings are reported one line each (name, what was expected), never with the value:
some of them are secrets.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

import psycopg
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from teambot.adapters.http_client import parse_proxy
from teambot.errors import EX_CONFIG as EX_CONFIG

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
PUBLIC_BOT_API = "https://api.telegram.org"
# limits' storages that keep a moving window and that teambot ships the client for
THROTTLE_STORES = {"memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster"}
# served by the HTTP listener itself: a webhook path must not take one of them
RESERVED_PATHS = {"/healthz", "/readyz", "/metrics"}
LogLevel = Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]


def _default_data_dir() -> Path:
    # Under systemd, StateDirectory= hands us the writable directory.
    return Path(os.environ.get("STATE_DIRECTORY") or "data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="ignore",
        validate_default=True,
        # `BOT_TOKEN=` as .env.example has it means unset, not an empty token
        env_ignore_empty=True,
    )

    bot_token: SecretStr | None = Field(default=None, description="the token from @BotFather")
    telegram_api_url: str = PUBLIC_BOT_API
    # http://user:password@host:port, socks5://… or socks5h://… (the proxy resolves names)
    telegram_proxy: SecretStr | None = None
    # CAs to trust for the Bot API instead of the system's (a TLS-inspecting proxy's);
    # OpenSSL's own variable, which teambot also takes from .env
    ssl_cert_file: Path | None = None
    # pace outgoing messages under Telegram's flood limits (off only for a test double)
    flood_control: bool = True

    database_url: SecretStr | None = None
    db_host: str | None = None
    db_port: int = Field(default=5432, ge=1, le=65535)
    db_name: str = "teambot"
    db_user: str = "teambot"
    db_password: SecretStr | None = None
    db_pool_min_size: int = Field(default=10, ge=1, le=100)
    db_pool_max_size: int = Field(default=30, ge=1, le=200)
    db_pool_max_lifetime_seconds: float = Field(default=3600, gt=0)
    db_connect_timeout_seconds: float = Field(default=300, gt=0)

    data_dir: Path = Field(default_factory=_default_data_dir)
    log_level: LogLevel = "INFO"
    log_file: Path | None = None

    # per user and window: messages and commands; button presses have their own, larger
    # budget (a registration is a few dozen taps that change the dialogue in place)
    rate_limit_requests_per_minute: int = Field(default=20, ge=1, le=100)
    rate_limit_presses_per_minute: int = Field(default=60, ge=1, le=600)
    # The window is a minute in production; tests shorten it to see it reopen.
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    # where the throttle counts: this process (memory://) or a store that several instances
    # share (redis://[:password@]host:port/db, rediss://…, redis+sentinel://…)
    rate_limit_storage_uri: SecretStr = SecretStr("memory://")
    cleanup_expired_invitations_hours: int = Field(default=72, ge=1)
    cleanup_inactive_users_days: int = Field(default=30, ge=1)
    cleanup_interval_minutes: float = Field(default=60, gt=0)
    # changes gathered this long make one digest ("3 new teams match you")
    digest_delay_seconds: float = Field(default=300, ge=0)

    invites_per_day: int = Field(default=20, ge=1, le=1000)
    deleted_user_retention_days: int = Field(default=30, ge=1)
    # Telegram user ids of the moderators, comma-separated: 12345,67890
    # people, not groups: reports carry profiles, which never go to a group chat
    admin_ids: Annotated[list[Annotated[int, Field(gt=0)]], NoDecode] = Field(default_factory=list)

    max_concurrent_updates: int = Field(default=64, ge=1, le=1000)
    poll_timeout_seconds: int = Field(default=25, ge=0, le=50)
    shutdown_timeout_seconds: float = Field(default=10, gt=0)
    restart_intensity: int = Field(default=5, ge=1)
    restart_period_seconds: float = Field(default=60, gt=0)

    teambot_backend: Literal["asyncio", "trio"] = "asyncio"

    # polling: this process asks Telegram for updates (getUpdates). webhook: Telegram POSTs
    # them to WEBHOOK_URL, which a reverse proxy with TLS forwards to HTTP_HOST:HTTP_PORT.
    updates_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    # Telegram sends it with every POST; anything without it is refused
    webhook_secret: SecretStr | None = None
    webhook_max_connections: int = Field(default=40, ge=1, le=100)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)  # 0: no HTTP listener
    # where admins reach the HTTP listener (a reverse proxy, a tunnel): the dashboard's links
    public_url: str | None = None
    # signs the dashboard's one-time links and session cookies; unset: no dashboard
    dashboard_secret: SecretStr | None = None

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TOKEN_PATTERN.match(value.get_secret_value()):
            raise ValueError("expected a bot token like 123456789:AA... from @BotFather")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http(s) URL such as https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("telegram_proxy", mode="before")
    @classmethod
    def _no_proxy_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("telegram_proxy")
    @classmethod
    def _proxy_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_proxy(value.get_secret_value())  # its ValueError never quotes the URL
        return value

    @field_validator("ssl_cert_file")
    @classmethod
    def _cert_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("expected the path of a PEM file of CA certificates")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", value):
            raise ValueError("expected an http(s) URL such as https://bot.example.org")
        return None if value is None else value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_shape(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(
                "expected the https URL Telegram posts to, such as https://bot.example.org/telegram"
            )
        if port not in (None, 443, 80, 88, 8443):
            raise ValueError("Telegram posts only to ports 443, 80, 88 and 8443")
        if webhook_path(value) in RESERVED_PATHS or webhook_path(value).startswith("/dashboard"):
            raise ValueError("its path is one the bot serves itself: choose another")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()
        ):
            raise ValueError(
                "expected 16 to 256 characters of A-Z, a-z, 0-9, _ and -"
                " (openssl rand -hex 32 makes one)"
            )
        return value

    @field_validator("dashboard_secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("expected at least 32 characters (openssl rand -hex 32 makes one)")
        return value

    @field_validator("rate_limit_storage_uri")
    @classmethod
    def _storage_uri_shape(cls, value: SecretStr) -> SecretStr:
        uri = value.get_secret_value()
        scheme = uri.partition("://")[0] if "://" in uri else ""
        if scheme not in THROTTLE_STORES or (scheme != "memory" and not uri.partition("://")[2]):
            raise ValueError(
                "expected memory:// or a Redis URL such as redis://localhost:6379/0"
                " (rediss://, redis+unix://, redis+sentinel:// also work)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        url = value.get_secret_value()
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            url = ""
        if not url or ("://" in url and not re.match(r"^postgres(ql)?://", url)):
            raise ValueError(
                "expected postgresql://user:password@host:port/dbname"
                " or a key=value connection string"
            )
        return value

    @model_validator(mode="after")
    def _pool_bounds(self) -> Settings:
        if self.db_pool_max_size < self.db_pool_min_size:
            raise ValueError(
                f"DB_POOL_MAX_SIZE: expected at least DB_POOL_MIN_SIZE ({self.db_pool_min_size})"
            )
        return self

    @model_validator(mode="after")
    def _webhook_needs(self) -> Settings:
        if self.updates_mode != "webhook":
            return self
        missing = [
            name
            for name, value in (
                ("WEBHOOK_URL", self.webhook_url),
                ("WEBHOOK_SECRET", self.webhook_secret),
            )
            if value is None
        ]
        if missing:
            raise ValueError(f"UPDATES_MODE=webhook: set {' and '.join(missing)}")
        if not self.http_port:
            raise ValueError("UPDATES_MODE=webhook: HTTP_PORT must not be 0 (Telegram posts there)")
        return self

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None and self.db_host is None

    @property
    def dashboard_url(self) -> str | None:
        """Where the dashboard is, or None when it is not served (no secret, no listener)."""
        if self.dashboard_secret is None or not self.http_port:
            return None
        if self.public_url is not None:
            return self.public_url + "/dashboard"
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}/dashboard"

    def database_conninfo(self) -> str | None:
        """The PostgreSQL URL to use, or None when the embedded server should provide one."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        if self.db_host is None:
            return None
        password = self.db_password.get_secret_value() if self.db_password else ""
        auth = quote(self.db_user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        return f"postgresql://{auth}@{self.db_host}:{self.db_port}/{quote(self.db_name)}"


def webhook_path(url: str) -> str:
    """Where on the HTTP listener the webhook's POSTs arrive (the reverse proxy keeps the
    path)."""
    return urlsplit(url).path or "/"


class ConfigError(Exception):
    """Raised with one human-readable line per bad setting."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _describe(error: dict[str, object]) -> str:
    loc = error.get("loc") or ()
    name = str(loc[0]).upper() if isinstance(loc, tuple) and loc else ""
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if error.get("type") == "missing":
        return f"{name}: required but not set"
    if not name:
        # model-level checks name their settings themselves
        return message
    return f"{name}: {message}"


class BotSettings(Settings):
    """Settings for running the bot, which needs a token; `migrate` does not."""

    bot_token: SecretStr = Field(description="the token from @BotFather")


def load_settings(*, require_token: bool = True, **overrides: object) -> Settings:
    """Settings from the environment and `.env`; ConfigError lists every bad one."""
    kind = BotSettings if require_token else Settings
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [_describe(dict(err)) for err in exc.errors(include_input=False)]
        raise ConfigError(problems) from None
