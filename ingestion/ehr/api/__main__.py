"""``python -m ingestion.ehr.api serve|load|bulk``: serve the landing zone as a FHIR API (the same
command as ``carehouse simulate ehr-api``), load what changed since the last API load into
bronze (``carehouse load ehr-api``), or run a Bulk Data export (``carehouse load ehr-bulk``).

Both take the OAuth2 client credentials from dlt secrets (``sources.ehr_api.client_id`` /
``client_secret``), else from ``CAREHOUSE_EHR_API_CLIENT_ID`` / ``CAREHOUSE_EHR_API_CLIENT_SECRET``,
else the development defaults, so with nothing configured the two agree. Secrets are never taken
on the command line (shell history, ``ps``).

An entry point, not part of the ingestion floor's library: it borrows the ``carehouse``
commands so there is one implementation.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    from orchestration.cli import run_as

    run_as(
        "python -m ingestion.ehr.api",
        {"serve": ("simulate", "ehr-api"), "load": ("load", "ehr-api"), "bulk": ("load", "ehr-bulk")},
        argv,
    )


if __name__ == "__main__":
    main()
