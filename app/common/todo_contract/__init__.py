"""The choices and limits of docs/contract.md that both the images and the chart check.

Defined here only: the images read them through `todo_common.config` (the build copies
app/common), the constructs library through `todo_chatbot.choices` (pyproject.toml ships this
package beside it). No dependencies, so either side imports it as is.
"""

AI_PROVIDERS = ("openai", "gemini")
"""AI providers the backend talks to (OpenAI, or Gemini's OpenAI-compatible API)."""
LOG_LEVELS = ("debug", "info", "warning", "error")
"""Log levels both images accept."""
MIN_AUTH_SECRET_LENGTH = 32
"""Fewest characters of BETTER_AUTH_SECRET (the images and the chart's check refuse fewer)."""
