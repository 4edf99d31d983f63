"""Home and health."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.main.service import database_is_up

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    """Signed out: what Ferry is. Signed in: the way to each area."""
    return render_template("main/home.html")


@bp.get("/health")
def health():
    """For load balancers: 200 when the SQL store answers, 503 otherwise."""
    if not database_is_up():
        return {"status": "unavailable", "database": "down"}, 503
    return {"status": "ok"}
