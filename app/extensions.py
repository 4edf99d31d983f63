"""The portal's extension objects, wired to the app in `create_app` with `init_app`."""

from flask_wtf import CSRFProtect

from app.db import Database

db = Database()
csrf = CSRFProtect()
