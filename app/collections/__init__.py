"""Collections: search with filter-scope tabs, a collection's page, bookmarks."""
