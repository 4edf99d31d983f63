"""The task engine: the scheduler's worker threads run queued tasks (runner), planning
them (expand), doing each file (work), copying bytes (copier) and checksumming them
(checksums). It reads and writes the database only; it knows nothing of HTTP."""
