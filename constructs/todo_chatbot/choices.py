"""The allowed choices of the props and chart values, defined here only.

The apps cannot import this package in their images, so they repeat the choices they
read (`todo_common.config`, `todo_backend.core.config`); tests/app/common/test_common_chart_facts.py
checks the copies equal these.
"""

AI_PROVIDERS = ("openai", "gemini")
"""AI providers the backend talks to (OpenAI, or Gemini's OpenAI-compatible API)."""
LOG_LEVELS = ("debug", "info", "warning", "error")
"""Log levels both images accept."""
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
"""Service types a component may be exposed with."""
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
"""Image pull policies of the containers."""
MIN_AUTH_SECRET_LENGTH = 32
"""Fewest characters of BETTER_AUTH_SECRET (the apps and the chart's check refuse fewer)."""
