"""Response headers, safe redirects and the way back to the current page
(docs/security.md: Sessions, CSRF, headers; `next`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, redirect, request, url_for

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


def current_page() -> str | None:
    """The page the user is on: for htmx, the page that holds the fragment (coming back
    to a bare fragment URL would show it without its page); for a GET, this URL."""
    if request.headers.get("HX-Request") and request.headers.get("HX-Current-URL"):
        parts = urlsplit(request.headers["HX-Current-URL"])
        return parts.path + (f"?{parts.query}" if parts.query else "") or None
    return request.full_path.rstrip("?") if request.method == "GET" else None


def redirect_to_login():
    """Send the browser to /auth/login, coming back here afterwards (GET only)."""
    target = url_for("auth.login", next=safe_next(current_page()))
    if request.headers.get("HX-Request"):
        # htmx would follow a 302 inside the page fragment; ask it to navigate instead.
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


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
