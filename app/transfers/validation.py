"""Input rules for transfers and deletes (docs/security.md, Input), shared by the forms and
the services so that nothing invalid ever reaches Globus. Paths, names, labels, ids and
deadlines follow the portal's one rule for each (app.paths, app.inputs)."""

from __future__ import annotations

# Globus's sync levels, as the form names them -> as the API numbers them (docs/globus-api.md B.5).
SYNC_LEVELS = {"exists": 0, "size": 1, "mtime": 2, "checksum": 3}
