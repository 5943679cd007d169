"""``python -m ingestion.ehr``: land new EHR files in bronze; the same command as
``carehouse load ehr`` (simulate a day first with ``carehouse simulate ehr``).

An entry point, not part of the ingestion floor's library: it borrows the ``carehouse``
command so there is one implementation (lock, progress, landing-problem report).
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    from orchestration.cli import run_as

    run_as("python -m ingestion.ehr", ("load", "ehr"), argv)


if __name__ == "__main__":
    main()
