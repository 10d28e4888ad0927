"""Thin wrappers around the libraries that are not anyio-native (aiogram, psycopg)."""
