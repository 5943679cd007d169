"""Reference code sets that are not source-system data (loaded by dlt into bronze like any source)."""
