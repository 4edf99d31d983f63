"""Transfer-side tables of localglobus (collections, tasks, ACLs, roles, bookmarks)."""
