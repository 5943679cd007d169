"""carehouse floor 2: one folder per source system (simulator + dlt source). Imports warehouse only."""
