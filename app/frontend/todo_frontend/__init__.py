"""The todo-chatbot web frontend: pages, accounts and sessions, and a proxy to the backend.

It plays the role Better Auth plays in the real app: it owns users and sessions in
PostgreSQL and vouches for the user to the backend with a short-lived HS256 JWT.
"""
