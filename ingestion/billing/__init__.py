"""The hospitals' billing systems (one per EHR vendor): department, provider and transaction extracts.

``ingestion.billing.simulator`` writes what the billing systems send into the landing zone, and
with them the payers' claim files (``ingestion.claims``), since both follow one revenue cycle.
"""
