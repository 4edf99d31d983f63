"""Ferry: a web portal on Globus for research data."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from app.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    """Build the portal. `overrides` replace configuration values (tests use it)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(load_config(overrides))
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_errors(app)
    return app


def register_logging(app: Flask) -> None:
    # authlib logs the PKCE code verifier at DEBUG (docs/security.md: Tokens at rest).
    logging.getLogger("authlib").setLevel(logging.INFO)


def register_extensions(app: Flask) -> None:
    from app import formatting, models, sessions  # noqa: F401 - models: every table on Base.metadata
    from app.extensions import csrf, db
    from app.globus import crypto

    db.init_app(app)
    crypto.init_app(app)
    sessions.init_app(app)
    csrf.init_app(app)
    formatting.init_app(app)


def register_blueprints(app: Flask) -> None:
    from app.admin.views import bp as admin_bp
    from app.auth.decorators import register_guards
    from app.auth.views import bp as auth_bp
    from app.collections.views import bp as collections_bp
    from app.files.views import bp as files_bp
    from app.main.views import bp as main_bp
    from app.tasks.views import bp as tasks_bp
    from app.transfers.views import bp as transfers_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(collections_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(transfers_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(admin_bp)
    # g.user, then the global sign-in guard (docs/security.md: Access control).
    register_guards(app)


# The main navigation, in order; an entry shows once its area's blueprint is registered.
NAV = (
    ("collections.search", "Collections"),
    ("files.browse", "Files"),
    ("transfers.new", "Transfer"),
    ("tasks.list_tasks", "Activity"),
    ("admin.index", "Admin"),
)


def register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def _nav():
        def nav_links():
            return [(ep, label) for ep, label in NAV if ep in app.view_functions]

        return {"nav_links": nav_links}


def register_errors(app: Flask) -> None:
    from app.errors import register_error_handlers
    from app.security import register_security_headers

    register_error_handlers(app)
    register_security_headers(app)
