"""The release log: append-only, hash-chained entries (ARCHITECTURE §6)."""
