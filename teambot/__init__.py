"""teambot: Launch Lab's teammate finder for Telegram."""

__version__ = "0.1.0"
