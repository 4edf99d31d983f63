"""The file manager: browse a folder of a collection page by page, make folders, rename,
delete (as a confirmed, write-ahead delete task)."""
