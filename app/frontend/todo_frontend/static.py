"""The page's static files (CSS, JS, icon), served from memory under content-hashed URLs.

The files are tiny and read once at start-up (the root filesystem is read-only anyway).
`static_url("app.js")` gives `/static/app.js?v=<hash>`, so browsers may cache a file for a
year: a new release changes the hash and therefore the URL.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response

STATIC_DIR = Path(__file__).parent / "static"
_MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    """One static file: its bytes, media type and content hash."""

    body: bytes
    media_type: str
    version: str


def _load() -> dict[str, Asset]:
    assets = {}
    for path in sorted(STATIC_DIR.iterdir()):
        body = path.read_bytes()
        version = hashlib.sha256(body).hexdigest()[:12]
        assets[path.name] = Asset(body=body, media_type=_MEDIA_TYPES[path.suffix], version=version)
    return assets


ASSETS = _load()

router = APIRouter(tags=["static"])


def static_url(name: str) -> str:
    """Return the cache-busting URL of the static file `name`."""
    return f"/static/{name}?v={ASSETS[name].version}"


@router.get("/static/{name}", include_in_schema=False)
async def static_file(name: str, request: Request) -> Response:
    """Serve one static file, cacheable for a year (its URL changes with its content)."""
    asset = ASSETS.get(name)
    if asset is None:
        raise HTTPException(404, "not found")
    etag = f'"{asset.version}"'
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
