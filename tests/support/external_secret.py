"""The remote references the ExternalSecret tests map, and the `spec.data` they must become;
shared by the construct's tests and the chart's so both check the same mapping."""

# In key order, the order Helm renders a map in.
REMOTE_REFS = {
    "BETTER_AUTH_SECRET": {"key": "todo-chatbot", "property": "better-auth-secret"},
    "DATABASE_URL": {"key": "todo-chatbot", "property": "database-url"},
    "FRONTEND_DATABASE_URL": {"key": "frontend-db", "property": "url"},
    # No property: the whole remote value.
    "OPENAI_API_KEY": {"key": "todo-chatbot-openai"},
}
# Written out, not derived from REMOTE_REFS: it is what the mapping under test must produce.
SPEC_DATA = [
    {
        "secretKey": "BETTER_AUTH_SECRET",
        "remoteRef": {"key": "todo-chatbot", "property": "better-auth-secret"},
    },
    {
        "secretKey": "DATABASE_URL",
        "remoteRef": {"key": "todo-chatbot", "property": "database-url"},
    },
    {
        "secretKey": "FRONTEND_DATABASE_URL",
        "remoteRef": {"key": "frontend-db", "property": "url"},
    },
    {"secretKey": "OPENAI_API_KEY", "remoteRef": {"key": "todo-chatbot-openai"}},
]
