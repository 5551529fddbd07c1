"""Remote caches: configuration, transfer, selection, status and gc (one module each)."""
