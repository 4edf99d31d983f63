"""Response headers and safe redirects (docs/security.md: Sessions, CSRF, headers; `next`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

from app.inputs import has_control

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self' {auth}; frame-ancestors 'none'; "
    "object-src 'none'; base-uri 'none'"
)


def safe_next(target: str | None, default: str = "/") -> str:
    """Return `target` if it is a path of this portal, else `default`.

    Refuses absolute and scheme-relative URLs, backslash tricks (browsers read `/\\x` as
    `//x`), encoded backslashes, `javascript:` and userinfo forms.
    """
    if not target or len(target) > 2048:
        return default
    # Control characters and backslashes never belong in a portal path.
    if (
        has_control(target)
        or "\\" in target
        or "%5c" in target.lower()
        or "%2f%2f" in target.lower()
    ):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def register_security_headers(app: Flask) -> None:
    """Headers on every response; no-store on pages that carry user data."""
    auth_origin = _origin(app.config["FERRY_GLOBUS_AUTH_URL"])
    csp = CSP.format(auth=auth_origin)
    production = app.config["FERRY_ENV"] == "production"

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Frame-Options", "DENY")
        if production:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
            )
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
