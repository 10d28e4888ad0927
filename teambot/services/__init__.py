"""Business rules. They know nothing of Telegram: they take and return plain values."""
