"""The one door to Globus: OAuth (authlib), the token store, and Transfer (globus-sdk).

Nothing outside this package imports globus_sdk, authlib's client or requests.

The door's public names are the modules in `PUBLIC_MODULES` and, in each, the names
that do not start with an underscore. `client` (the SDK clients), `errors` (the mapping
of API errors, raised as app.errors classes) and `refresh` (the token refresh behind
`tokens`) are internals: only this package imports them (tests/portal/test_layering.py).
"""

PUBLIC_MODULES = frozenset(
    {
        "admin",  # access rules and roles of guest collections
        "admin_types",
        "collections",  # search, a collection, bookmarks
        "crypto",  # the token keys: init_app and generate_key
        "endpoint_manager",  # the activity of every user on a collection
        "files",  # listing, mkdir, rename, stat
        "oauth",  # sign-in
        "task_types",
        "tasks",  # transfers, deletes and their tasks
        "tokens",  # the token store
        "types",
    }
)
