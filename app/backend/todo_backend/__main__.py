"""Entry point: `python -m todo_backend` loads the settings and serves on PORT (8000)."""

from todo_common.entrypoint import run

from todo_backend.core.config import Settings
from todo_backend.main import create_app

if __name__ == "__main__":
    run(Settings, create_app)
