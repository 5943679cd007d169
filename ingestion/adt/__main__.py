"""``python -m ingestion.adt simulate``: the ADT event stream (a day, a live follow, or a dry
run); the same command as ``carehouse simulate adt``.

    python -m ingestion.adt simulate --date 2025-03-01
    python -m ingestion.adt simulate --follow --events-per-second 50 --duration 60
    python -m ingestion.adt simulate --dry-run --max-events 20

An entry point, not part of the ingestion floor's library: it borrows the ``carehouse``
command so there is one implementation.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    from orchestration.cli import run_as

    run_as("python -m ingestion.adt", {"simulate": ("simulate", "adt")}, argv)


if __name__ == "__main__":
    main()
