"""Payer claim files (one CSV per payer per adjudication month), sent late and sometimes twice.

``ingestion.claims.simulator`` writes them from the same revenue cycle as the hospitals'
billing extracts (``ingestion.billing.simulator``), so both sides of a claim agree.
"""
