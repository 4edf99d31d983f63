"""The admin blueprint (URL prefix /admin); its pages are grouped by module."""

from __future__ import annotations

from flask import Blueprint

from app.admin import access

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.context_processor
def _admin_helpers():
    return {"can": access.can}


from app.admin.views import activity, audit, home, roles, rules  # noqa: E402,F401
