"""A todo app image with a deliberately foreign contract, to prove the chart deploys such images.

It follows none of docs/contract.md's conventions, the way public Next.js + FastAPI todo
chatbots do not: port 8080 (`PORT`), uid 1001, `JWT_SECRET` where the chart sets
`BETTER_AUTH_SECRET`, `LLM_PROVIDER` where it sets `AI_PROVIDER`, `API_URL` where it sets
`BACKEND_URL`, probes on `/api/health` and `/api/ready`, a writable `/app/.next/cache` it must
write to at start, and its own migration command run before it serves.

    python -m foreign serve backend    # the API: items in PostgreSQL
    python -m foreign serve frontend   # the page, and /api/items passed on to API_URL
    python -m foreign migrate          # creates or advances the schema; records each run

Exit codes: 2 a missing or malformed variable (one line naming it, never its value), 3 the
database refused a migration or is behind this image's schema, 4 a path it must write to is
not writable.
"""
