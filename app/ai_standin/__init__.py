"""A local stand-in for the external AI provider (OpenAI, Gemini's OpenAI-compatible API).

It is the only stand-in of the project: it speaks the real wire formats (chat completions
with tools, tool_calls and `role: tool` messages; the Responses API with function_call and
function_call_output items; each whole or streamed as server-sent events), checks the API
key and the request bodies, records what it received (without the key) and answers
deterministically (`ai_standin.brain`). Run it with `python -m ai_standin --port 8090
--expected-key-env AI_STANDIN_KEY --debug-token-env AI_STANDIN_DEBUG_TOKEN`.
"""
