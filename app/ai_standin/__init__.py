"""A local stand-in for the external AI provider (OpenAI-compatible chat completions).

It is the only stand-in of the project: it speaks the real wire format (tools, tool_calls,
`role: tool` messages), checks the API key and the request bodies, records what it received
(without the key) and answers deterministically (`ai_standin.brain`). Run it with
`python -m ai_standin --port 8090 --expected-key-env AI_STANDIN_KEY`.
"""
