"""Pharmacy claims (PBM fills) and payer eligibility rosters: simulated landing files (``simulator``)."""
