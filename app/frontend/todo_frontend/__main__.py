"""Entry point of the frontend image: `python -m todo_frontend` serves on PORT (3000)."""

from todo_common.entrypoint import run

from todo_frontend.core.config import Settings
from todo_frontend.main import create_app

if __name__ == "__main__":
    run(Settings, create_app)
