"""Shared parts of the reference app's images (backend and frontend).

- `logs`: JSON-lines logging with a redaction guard.
- `config`: fail-fast settings from environment variables.
- `web`: metrics, `X-Instance`, body size limit and JSON errors for a FastAPI app.
- `readiness` and `runner`: readiness state and a uvicorn runner with graceful shutdown.
- `database`: connection pool and health ping for PostgreSQL.
- `migrations`: versioned schema migrations, safe when several replicas start at once.
- `startup`: applies an app's migrations in the background, retrying until the database
  answers, then marks the readiness started.
- `health`: the `/healthz` and `/readyz` router (reads `app.state.readiness` and `.pool`).
"""
