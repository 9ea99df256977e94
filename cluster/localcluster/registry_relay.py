"""The local registry inside an extra node's namespace: `localhost:5001` there, relayed here.

The registry listens on the host's loopback only, so neither pods nor the bridge reach it. An
extra node's containerd pulls `localhost:5001/...` like the first node's does; this relay
listens on the namespace's own loopback and passes each connection to the host's registry.
Run as `python -m localcluster.registry_relay <namespace>` (nodes.py supervises it).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading

from . import netns, settings

LOOPBACK = "127.0.0.1"
_CHUNK = 65536


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until `source` ends, then end `sink`'s sending side."""
    try:
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket) -> None:
    """Connect to the host's registry and copy both ways until both sides have ended."""
    with client:
        try:
            upstream = socket.create_connection((LOOPBACK, settings.PORTS.registry), timeout=10)
        except OSError:
            return
        with upstream:
            upstream.settimeout(None)
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join()


def serve(namespace: str) -> None:
    """Listen on the namespace's loopback, connect on the host's; serve until killed."""
    with netns.entered(namespace):
        listener = socket.create_server((LOOPBACK, settings.PORTS.registry))
    with listener:
        while True:
            client, _ = listener.accept()
            threading.Thread(target=_relay, args=(client,), daemon=True).start()


if __name__ == "__main__":
    serve(sys.argv[1])
