"""``python -m ingestion.billing [--date D] [--seed S]``: simulate one day of billing extracts and
payer claim files; the same command as ``carehouse simulate revenue-cycle``.

The EHR extracts must be landed first (``carehouse simulate ehr``): billing reads them. The
landing zone is the carehouse home's (``CAREHOUSE_HOME``).

An entry point, not part of the ingestion floor's library: it borrows the ``carehouse``
command so there is one implementation.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    from orchestration.cli import run_as

    run_as("python -m ingestion.billing", ("simulate", "revenue-cycle"), argv)


if __name__ == "__main__":
    main()
