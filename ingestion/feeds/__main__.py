"""``python -m ingestion.feeds [--config FILE]``: land every new complete feed file of the load
config in bronze; the same command as ``carehouse load feeds``.

An entry point, not part of the ingestion floor's library: it borrows the ``carehouse``
command so there is one implementation.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    from orchestration.cli import run_as

    run_as("python -m ingestion.feeds", ("load", "feeds"), argv)


if __name__ == "__main__":
    main()
