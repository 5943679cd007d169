"""The chart-review sampling rule, in Python: the reference the dbt SQL must agree with.

A patient is sampled when md5(sample_key), read as one unsigned 128-bit integer, modulo 100
is below the sample rate in percent. ``sample_key`` is the patient's system-qualified source
id (``<source_system>:<patient id>``), so the same id in two EHRs is two patients.
"""

from __future__ import annotations

import hashlib

DEFAULT_SAMPLE_RATE_PCT = 10
SAMPLING_METHOD = "md5(sample_key) mod 100 < sample_rate_pct"


def sample_key(source_system: str, patient_id: str) -> str:
    return f"{source_system}:{patient_id}"


def sample_bucket(key: str) -> int:
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16) % 100


def is_sampled(key: str, sample_rate_pct: int = DEFAULT_SAMPLE_RATE_PCT) -> bool:
    return sample_bucket(key) < sample_rate_pct
