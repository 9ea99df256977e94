"""Serve the AI stand-in; the API key and the debug token come from the environment.

`python -m ai_standin --port 8090 --expected-key-env AI_STANDIN_KEY
--debug-token-env AI_STANDIN_DEBUG_TOKEN [--host 127.0.0.1]`
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from ai_standin.server import create_app


def main() -> None:
    """Parse the options, read the expected key from the environment and serve."""
    parser = argparse.ArgumentParser(prog="ai_standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port to bind (8090)")
    parser.add_argument(
        "--expected-key-env",
        required=True,
        metavar="NAME",
        help="environment variable that holds the only API key accepted",
    )
    parser.add_argument(
        "--debug-token-env",
        required=True,
        metavar="NAME",
        help="environment variable that holds the token of the /_standin/ debug routes",
    )
    parser.add_argument(
        "--test-mode",
        action="store_true",
        help="honour the [[slow]], [[error500]], [[error429]], [[badjson]] markers in messages",
    )
    parser.add_argument(
        "--slow-seconds",
        type=float,
        default=60.0,
        help="how long a [[slow]] request waits before answering (60)",
    )
    options = parser.parse_args()
    values = {}
    for name in (options.expected_key_env, options.debug_token_env):
        values[name] = os.environ.get(name, "")
        if not values[name]:
            print(f"config error: {name} is missing", file=sys.stderr)
            raise SystemExit(2)
    if len(set(values.values())) == 1:
        print("config error: the API key and the debug token must differ", file=sys.stderr)
        raise SystemExit(2)
    uvicorn.run(
        create_app(
            expected_key=values[options.expected_key_env],
            debug_token=values[options.debug_token_env],
            slow_seconds=options.slow_seconds,
            test_mode=options.test_mode,
        ),
        host=options.host,
        port=options.port,
        # The access log shows method, path and status: never a header, so never the key.
        access_log=True,
    )


if __name__ == "__main__":
    main()
