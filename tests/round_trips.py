"""The rule tests/test_round_trips.py and the benchmarks (bench/harness.py) count database
round trips by."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.pq import TransactionStatus


def exchanges(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], gen: Any) -> int:
    """How many times psycopg waits for the server to answer while it runs `gen`: once per
    statement, plus once for the BEGIN it sends on its own before the first statement of a
    transaction; in pipeline mode only at a sync (a COMMIT, or reading a result); none to
    change a setting, to enter or leave pipeline mode, or to end a transaction never begun."""
    name = getattr(gen, "__qualname__", "")
    idle = conn.pgconn.transaction_status == TransactionStatus.IDLE
    if name.endswith(("_enter_gen", "_exit_gen", "_set_autocommit_gen")):
        return 0
    if name.endswith(("_commit_gen", "_rollback_gen")):
        return 0 if idle else 1
    if conn._pipeline is not None:
        return 1 if name.endswith(("_fetch_gen", "_sync_gen")) else 0
    return 2 if idle and not conn.autocommit else 1
