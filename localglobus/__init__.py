"""localglobus: a single-host Globus Auth + Transfer (API v0.10) over local directories.

It speaks HTTP only; the portal never imports it, and it never imports the portal.
"""
