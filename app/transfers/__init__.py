"""Transfers: the two-pane transfer page, write-ahead submissions, resume after consent."""
