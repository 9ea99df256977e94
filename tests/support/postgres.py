"""A real, throwaway PostgreSQL server for tests.

`PostgresServer` runs Debian's PostgreSQL binaries (installed by `make setup-postgres`) in a
temporary directory, on a free loopback port, with TLS (a self-signed certificate made at
run time) and scram-sha-256 password authentication (random passwords made at run time).
Clients must use TLS: plain connections are rejected, so every URL it hands out carries
`sslmode=require&channel_binding=require`, like a managed (Neon) database's: SCRAM with
channel binding (SCRAM-SHA-256-PLUS), which binds the password exchange to the TLS session.

Typical use (see `tests/app/conftest.py` for the fixtures built on it):

    with PostgresServer.started() as server:
        url = server.create_database()      # fresh database owned by a fresh role
        ...
        server.stop()                       # outage: connections fail
        server.start()                      # same port, same data
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from support.secret import Secret

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# initdb and postgres refuse to run as root; when the tests run as root the server runs as
# this OS user (created by Debian's postgresql package).
SERVER_OS_USER = "postgres"
SUPERUSER = "postgres"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(*, user: str, password: str, port: int, database: str) -> Secret:
    """Return a `postgresql://` URL to 127.0.0.1 that requires TLS and channel binding.

    Its repr hides it.
    """
    return Secret(
        f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}"
        f"@127.0.0.1:{port}/{quote(database, safe='')}?sslmode=require&channel_binding=require"
    )


@dataclass(frozen=True)
class AppRoles:
    """The URLs of one database's two app roles (`PostgresServer.create_app_roles`)."""

    backend: Secret
    frontend: Secret


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, stoppable and restartable."""

    def __init__(self, *, base_dir: Path | None = None) -> None:
        """Prepare (but do not start) a cluster; `base_dir` defaults to a new temp dir."""
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN}: run `make setup`")
        self._own_dir = base_dir is None
        self.base_dir = base_dir or Path(tempfile.mkdtemp(prefix="todo-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgres.log"
        self.port = free_port()
        self.superuser_password = Secret(secrets.token_urlsafe(24))
        self._initialized = False

    @classmethod
    @contextlib.contextmanager
    def started(cls) -> Iterator[PostgresServer]:
        """Start a new server, yield it, then stop it and delete its files."""
        server = cls()
        try:
            server.start()
            yield server
        finally:
            server.destroy()

    @property
    def is_running(self) -> bool:
        """Whether the postmaster is up (per `pg_ctl status`)."""
        if not self._initialized:
            return False
        result = self._run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "status"], check=False
        )
        return result.returncode == 0

    def url(self, database: str = "postgres") -> Secret:
        """Return the superuser's URL of `database` (for test set-up and assertions)."""
        return database_url(
            user=SUPERUSER, password=self.superuser_password, port=self.port, database=database
        )

    def start(self) -> None:
        """Start the server (initializing the cluster on first use); waits until it accepts."""
        if not self._initialized:
            self._initdb()
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "30",
                "start",
            ]
        )

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server; `mode` is pg_ctl's (`fast` ends sessions, `immediate` crashes)."""
        if self.is_running:
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"])

    def destroy(self) -> None:
        """Stop the server and delete its directory (if this object created it)."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop(mode="immediate")
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def create_database(self, name: str | None = None) -> Secret:
        """Create a database owned by a new unprivileged role; return that role's URL."""
        name = name or f"db_{secrets.token_hex(6)}"
        role = f"{name}_owner"
        password = secrets.token_urlsafe(24)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(role)
                )
            )
        return database_url(user=role, password=password, port=self.port, database=name)

    def create_app_roles(self) -> AppRoles:
        """A fresh database with a role per app, as an operator sets up least privilege.

        The database belongs to the superuser; each app's role may only create tables in
        `public` (and so owns just the tables its own migrations create).
        """
        name = f"db_{secrets.token_hex(6)}"
        passwords = {app: secrets.token_urlsafe(24) for app in ("backend", "frontend")}
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            for app, password in passwords.items():
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(f"{name}_{app}"), sql.Literal(password)
                    )
                )
        with psycopg.connect(self.url(name), autocommit=True) as conn:
            conn.execute(
                sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}, {}").format(
                    *(sql.Identifier(f"{name}_{app}") for app in passwords)
                )
            )
        urls = {
            app: database_url(
                user=f"{name}_{app}", password=password, port=self.port, database=name
            )
            for app, password in passwords.items()
        }
        return AppRoles(backend=urls["backend"], frontend=urls["frontend"])

    def log_text(self) -> str:
        """Return the server log (to explain a failure)."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def _initdb(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        password_file = self.base_dir / "superuser-password"
        password_file.write_text(self.superuser_password + "\n")
        password_file.chmod(0o600)
        self._make_certificate()
        self._chown_to_server_user()
        try:
            self._run(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={password_file}",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    # No fsync: a throwaway cluster trades durability for speed.
                    "--no-sync",
                ]
            )
        finally:
            password_file.unlink()
        # Only TLS connections over loopback with a password; everything else is refused.
        (self.data_dir / "pg_hba.conf").write_text(
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostnossl all all 0.0.0.0/0 reject\n"
            "local all all scram-sha-256\n"
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.base_dir}'\n"
                "ssl = on\n"
                f"ssl_cert_file = '{self.base_dir / 'server.crt'}'\n"
                f"ssl_key_file = '{self.base_dir / 'server.key'}'\n"
                "password_encryption = 'scram-sha-256'\n"
                "max_connections = 200\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
            )
        self._initialized = True

    def _make_certificate(self) -> None:
        self._run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                str(self.base_dir / "server.key"),
                "-out",
                str(self.base_dir / "server.crt"),
            ]
        )
        (self.base_dir / "server.key").chmod(0o600)

    def _chown_to_server_user(self) -> None:
        if os.geteuid() != 0:
            return
        for path in [self.base_dir, *self.base_dir.rglob("*")]:
            shutil.chown(path, user=SERVER_OS_USER, group=SERVER_OS_USER)

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = Path(argv[0]).name
        if os.geteuid() == 0 and command != "openssl":
            argv = ["runuser", "-u", SERVER_OS_USER, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, cwd=self.base_dir)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{command} failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{self.log_text()}"
            )
        return result
