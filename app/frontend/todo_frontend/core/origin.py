"""Cross-site request forgery protection by origin.

Session cookies are `SameSite=Lax`, so other sites cannot send them with a POST; on top
of that every state-changing request must come from a page of this app: its `Origin`
(or, when a browser omits it, its `Referer`) must be the public URL's origin or the
host the request was sent to.
"""

import ipaddress
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """Return `scheme://host[:port]` of `url`, normalized; `None` when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def is_same_origin(
    *, origin: str | None, referer: str | None, host: str | None, public_origin: str
) -> bool:
    """Tell whether a request with these headers comes from this app's own pages."""
    claimed = origin_of(origin) if origin else origin_of(referer) if referer else None
    if claimed is None:
        return False
    if claimed == public_origin:
        return True
    # Opened by another address than PUBLIC_URL (a port-forward, the Service name): the
    # browser still names the host it is talking to, which no other site can fake. Over the
    # public URL's scheme only: a plain-http page of the same host (which anyone on the path
    # can forge) is another origin than the https app; loopback, where port-forwards listen,
    # is plain http and out of that attacker's reach.
    scheme = claimed.split("://", 1)[0]
    if scheme != public_origin.split("://", 1)[0] and not _is_loopback(claimed):
        return False
    return host is not None and origin_of(f"{scheme}://{host}") == claimed


def _is_loopback(origin: str) -> bool:
    hostname = urlsplit(origin).hostname or ""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
