"""Security headers on every response, errors included.

The content security policy allows only this app's own scripts, styles and requests: even
if some text ever reached the page as HTML, an injected script could not run. Pages and
API answers carry a user's data, so no cache keeps them (static files set their own
`Cache-Control`). Over https, browsers are told to never use plain http again.
"""

Headers = list[tuple[bytes, bytes]]

_ALWAYS: Headers = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"
        b" connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
        b" frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000")


def security_headers(*, https: bool) -> Headers:
    """The headers of every response; HSTS only when users reach the app over https."""
    return [*_ALWAYS, _HSTS] if https else list(_ALWAYS)
