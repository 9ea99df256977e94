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
# The database's owner: host-side tools and tests only, never handed to a pod. Each app
# connects as its own role, which owns the tables its migrations create and nothing else
# (the owner is a member of both, so it reads everything): the frontend's role cannot read
# the tasks and chats, the backend's cannot read the users' password hashes or sessions.
ROLE = "todo"
BACKEND_ROLE = "todo_backend"
FRONTEND_ROLE = "todo_frontend"
APP_ROLES = (BACKEND_ROLE, FRONTEND_ROLE)
# The frontend's tables are named `auth_*` (its migrations); the others are the backend's.
FRONTEND_TABLES = "auth\\_%"

_PASSWORDS = {
    ROLE: app_secrets.DATABASE_PASSWORD,
    BACKEND_ROLE: app_secrets.BACKEND_DATABASE_PASSWORD,
    FRONTEND_ROLE: app_secrets.FRONTEND_DATABASE_PASSWORD,
}


HBA = f"""\
# Only the server's own user over the socket, and TLS + SCRAM from loopback and the pods.
# The owner ({ROLE}) stays allowed from the pods for releases deployed before the app roles.
local   all       {USER}                             peer
hostssl {DATABASE} all    127.0.0.1/32              scram-sha-256
hostssl {DATABASE} {ROLE},{",".join(APP_ROLES)} {settings.POD_CIDR} scram-sha-256
host    all       all     0.0.0.0/0                 reject
"""


def _data(paths: Paths) -> Path:
    return paths.state / "postgres" / "data"


def _socket_dir(paths: Paths) -> Path:
    return paths.run / "postgres"


def database_url(paths: Paths, *, role: str = ROLE, host: str = str(settings.NODE_IP)) -> str:
    """The URL of `role` (the owner, or one of APP_ROLES); it holds the password: never print it."""
    password = app_secrets.read(paths, _PASSWORDS[role])
    return (
        f"postgresql://{role}:{password}@{host}:{settings.PORTS.postgres}/{DATABASE}"
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


def start(paths: Paths) -> None:
    """Initialise once, start the server, and make sure the roles and the database exist."""
    _init(paths)
    (_data(paths) / "pg_hba.conf").write_text(HBA)
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


def _psql(paths: Paths, sql: str, *, database: str = "postgres") -> None:
    """Run SQL as the superuser over the socket; the SQL travels on stdin, never in argv.

    psql echoes a failing statement in its error, and the statements here carry the app's
    password, so a failure is reported without psql's output.
    """
    argv: list[str | Path] = [
        "runuser", "-u", USER, "--", BIN / "psql", "-h", _socket_dir(paths),
        "-p", str(settings.PORTS.postgres), "-d", database, "-v", "ON_ERROR_STOP=1",
        "-qtA", "-f", "-",
    ]  # fmt: skip
    if run(argv, input_text=sql, check=False).returncode != 0:
        raise ClusterError(
            f"could not create the app's database roles and database: read {paths.log('postgres')}"
        )


def _ensure_database(paths: Paths) -> None:
    """The roles (passwords as generated), the database, the grants and the access rules."""
    roles_sql = ""
    for role, password_name in _PASSWORDS.items():
        password = app_secrets.read(paths, password_name)
        roles_sql += (
            f"SELECT 'CREATE ROLE {role} LOGIN' WHERE NOT EXISTS "
            f"(SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec\n"
            f"ALTER ROLE {role} PASSWORD '{password}';\n"
        )
    app_roles = ", ".join(APP_ROLES)
    _psql(
        paths,
        roles_sql
        + f"GRANT {app_roles} TO {ROLE};\n"
        + f"SELECT 'CREATE DATABASE {DATABASE} OWNER {ROLE}' WHERE NOT EXISTS "
        f"(SELECT FROM pg_database WHERE datname = '{DATABASE}')\\gexec\n",
    )
    # Each app creates its tables in `public` as its own role. Tables made before the app
    # roles existed belong to the owner: each goes to the role of the app it belongs to.
    _psql(
        paths,
        f"""
        GRANT USAGE, CREATE ON SCHEMA public TO {app_roles};
        DO $$
        DECLARE t record;
        BEGIN
          FOR t IN SELECT tablename FROM pg_tables
                   WHERE schemaname = 'public' AND tableowner = '{ROLE}'
                     AND tablename <> 'schema_migrations' LOOP
            EXECUTE format('ALTER TABLE public.%I OWNER TO %I', t.tablename,
              CASE WHEN t.tablename LIKE '{FRONTEND_TABLES}'
                   THEN '{FRONTEND_ROLE}' ELSE '{BACKEND_ROLE}' END);
          END LOOP;
          IF to_regclass('public.schema_migrations') IS NOT NULL THEN
            GRANT SELECT, INSERT ON public.schema_migrations TO PUBLIC;
          END IF;
        END $$;
        """,
        database=DATABASE,
    )
    # The rules were rewritten before the start; a server already running reads them now.
    _psql(paths, "SELECT pg_reload_conf();")
