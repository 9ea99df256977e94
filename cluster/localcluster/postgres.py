"""The "external" database: Debian's PostgreSQL 15 on the host, standing in for Neon.

Own data folder under the state folder, TLS with a certificate from the cluster CA, SCRAM
password authentication, and only TLS connections from the pod network or loopback accepted.
It listens on loopback and on the bridge address pods reach the host by.
"""

from __future__ import annotations

import ipaddress
import pwd
import shutil
import signal
from pathlib import Path

from . import app_secrets, pki, settings, supervisor
from .errors import ClusterError
from .settings import Paths
from .shell import run

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "postgres"
DATABASE = "todo"
ROLE = "todo"

HBA = f"""\
# Only the server's own user over the socket, and TLS + SCRAM from loopback and the pods.
local   all       {USER}                             peer
hostssl {DATABASE} {ROLE}  127.0.0.1/32              scram-sha-256
hostssl {DATABASE} {ROLE}  {settings.POD_CIDR}          scram-sha-256
host    all       all     0.0.0.0/0                 reject
"""


def _data(paths: Paths) -> Path:
    return paths.state / "postgres" / "data"


def _socket_dir(paths: Paths) -> Path:
    return paths.run / "postgres"


def database_url(paths: Paths, *, host: str = str(settings.NODE_IP)) -> str:
    """The URL the app uses (it contains the password: never print it)."""
    password = app_secrets.read(paths, app_secrets.DATABASE_PASSWORD)
    return (
        f"postgresql://{ROLE}:{password}@{host}:{settings.PORTS.postgres}/{DATABASE}"
        "?sslmode=require"
    )


def _as_postgres(argv: list[str | Path]) -> None:
    run(["runuser", "-u", USER, "--", *argv])


def _init(paths: Paths) -> None:
    """Create the data folder, the server certificate and the access rules once."""
    data = _data(paths)
    account = pwd.getpwnam(USER)
    for folder in (data.parent, _socket_dir(paths)):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(folder, account.pw_uid, account.pw_gid)
    if (data / "PG_VERSION").exists():
        return
    _as_postgres(
        [
            BIN / "initdb",
            "-D",
            data,
            "-U",
            USER,
            "--auth-local=peer",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-instructions",
        ]
    )
    pki.ensure_leaf(
        paths.pki,
        pki.Leaf(
            "postgres",
            "todo-chatbot-postgres",
            dns_names=["localhost"],
            ip_addresses=[settings.NODE_IP, ipaddress.IPv4Address("127.0.0.1")],
            server=True,
        ),
    )
    for suffix in ("crt", "key"):
        target = data / f"server.{suffix}"
        shutil.copyfile(paths.pki / f"postgres.{suffix}", target)
        target.chmod(0o600)
        shutil.chown(target, account.pw_uid, account.pw_gid)
    (data / "pg_hba.conf").write_text(HBA)


def start(paths: Paths) -> None:
    """Initialise once, start the server, and make sure the app's role and database exist."""
    _init(paths)
    argv: list[str | Path] = [
        BIN / "postgres",
        "-D",
        _data(paths),
        "-c",
        f"listen_addresses=127.0.0.1,{settings.NODE_IP}",
        "-c",
        f"port={settings.PORTS.postgres}",
        "-c",
        f"unix_socket_directories={_socket_dir(paths)}",
        "-c",
        "ssl=on",
        "-c",
        "password_encryption=scram-sha-256",
        "-c",
        "shared_buffers=64MB",
        "-c",
        "max_connections=50",
        # Never write a failing statement to the log: some carry the app's password.
        "-c",
        "log_min_error_statement=panic",
    ]
    # The log folder is root's; the server's output still lands there through the inherited fd.
    supervisor.start(paths, supervisor.Process("postgres", argv, user=USER))
    supervisor.wait_healthy(paths, "postgres", lambda: _ready(paths), timeout_seconds=30)
    _ensure_database(paths)


def stop(paths: Paths) -> bool:
    """Stop the server (fast shutdown: SIGINT); True when it was running.

    `start` brings it back with its data; the e2e tests use the pair for a database outage.
    """
    return supervisor.stop(paths, "postgres", stop_signal=signal.SIGINT)


def _ready(paths: Paths) -> bool:
    """pg_isready as the server's user over the socket (peer auth: no failed login is logged)."""
    argv: list[str | Path] = [
        "runuser",
        "-u",
        USER,
        "--",
        BIN / "pg_isready",
        "-q",
        "-h",
        _socket_dir(paths),
        "-p",
        str(settings.PORTS.postgres),
        "-d",
        "postgres",
    ]
    return run(argv, check=False).returncode == 0


def _psql(paths: Paths, sql: str) -> None:
    """Run SQL as the superuser over the socket; the SQL travels on stdin, never in argv.

    psql echoes a failing statement in its error, and the statements here carry the app's
    password, so a failure is reported without psql's output.
    """
    argv: list[str | Path] = [
        "runuser", "-u", USER, "--", BIN / "psql", "-h", _socket_dir(paths),
        "-p", str(settings.PORTS.postgres), "-d", "postgres", "-v", "ON_ERROR_STOP=1",
        "-qtA", "-f", "-",
    ]  # fmt: skip
    if run(argv, input_text=sql, check=False).returncode != 0:
        raise ClusterError(
            f"could not create the app's database role and database: read {paths.log('postgres')}"
        )


def _ensure_database(paths: Paths) -> None:
    password = app_secrets.read(paths, app_secrets.DATABASE_PASSWORD)
    role_sql = (
        f"SELECT 'CREATE ROLE {ROLE} LOGIN' WHERE NOT EXISTS "
        f"(SELECT FROM pg_roles WHERE rolname = '{ROLE}')\\gexec\n"
        f"ALTER ROLE {ROLE} PASSWORD '{password}';\n"
        f"SELECT 'CREATE DATABASE {DATABASE} OWNER {ROLE}' WHERE NOT EXISTS "
        f"(SELECT FROM pg_database WHERE datname = '{DATABASE}')\\gexec\n"
    )
    _psql(paths, role_sql)
