"""carehouse floor 1: how to reach the Postgres warehouse. Imports nothing else of ours."""

from warehouse.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
