"""Command line: `python -m foreign serve backend|frontend` or `python -m foreign migrate`."""

from __future__ import annotations

import os
import sys

from foreign.migrate import MigrationError, exit_on_migration_error, migrate
from foreign.server import log, serve
from foreign.settings import ConfigError, database_url, exit_on_config_error, serve_settings

USAGE = "usage: python -m foreign serve backend|frontend | python -m foreign migrate"


def main(argv: list[str]) -> None:
    """Run the command `argv` names."""
    match argv:
        case ["serve", role]:
            try:
                settings = serve_settings(role)
            except ConfigError as error:
                exit_on_config_error(error)
            serve(settings)
        case ["migrate"]:
            try:
                url = database_url(os.environ)
            except ConfigError as error:
                exit_on_config_error(error)
            try:
                before, after = migrate(url)
            except MigrationError as error:
                exit_on_migration_error(error)
            log("info", f"migrated from schema version {before} to {after}")
        case _:
            sys.exit(USAGE)


if __name__ == "__main__":
    main(sys.argv[1:])
