"""carehouse floor 3: the Dagster code location and the ``carehouse`` command line."""
