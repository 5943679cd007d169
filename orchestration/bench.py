"""``carehouse bench ingest``: the bronze load against the floor set by a plain ``COPY``.

Both runs read the same NDJSON files on the same server, in a scratch database that is
dropped afterwards, so the warehouse itself is never touched.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console

from ingestion.ehr.pipeline import load_ehr_to_bronze
from ingestion.landing import batch_dir, batch_id_for, write_manifest
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

LINES_PER_FILE = 100_000
STATUSES = (
    ("finished",) * 58
    + ("cancelled",) * 18
    + ("planned",) * 12
    + ("in-progress",) * 7
    + ("entered-in-error",) * 5
)


@dataclass(frozen=True)
class IngestBenchmark:
    rows: int
    bronze_s: float
    copy_s: float

    @property
    def bronze_rows_per_s(self) -> float:
        return self.rows / self.bronze_s

    @property
    def copy_rows_per_s(self) -> float:
        return self.rows / self.copy_s

    @property
    def ratio(self) -> float:
        return self.bronze_rows_per_s / self.copy_rows_per_s


def _encounter_line(n: int, start: datetime) -> str:
    """A realistic FHIR R4 Encounter (about 700 bytes), cheap enough to write a million of."""
    begin = start + timedelta(minutes=n % 1_051_200)
    resource = {
        "resourceType": "Encounter",
        "id": str(n + 1),
        "meta": {"lastUpdated": (begin + timedelta(hours=2)).isoformat()},
        "status": STATUSES[n % len(STATUSES)],
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
        "subject": {"reference": f"Patient/{n % 200_000 + 1}"},
        "participant": [{"individual": {"reference": f"Practitioner/{n % 800 + 1}"}}],
        "period": {"start": begin.isoformat(), "end": (begin + timedelta(minutes=30)).isoformat()},
        "serviceProvider": {"reference": f"Organization/{n % 4 + 1}"},
        "location": [{"location": {"reference": f"Location/{n % 6 + 1}"}}],
    }
    return json.dumps(resource, separators=(",", ":"))


def write_bench_landing(landing_root: Path, settings: Settings, rows: int) -> list[Path]:
    batch_id = batch_id_for(date(2025, 1, 1))
    folder = batch_dir(landing_root, settings.tenant, settings.environment, "athena", "encounter", batch_id)
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    files: dict[str, int] = {}
    for part, first in enumerate(range(0, rows, LINES_PER_FILE)):
        count = min(LINES_PER_FILE, rows - first)
        path = folder / f"encounter-{part:04d}.ndjson"
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(_encounter_line(n, start) + "\n" for n in range(first, first + count))
        files[path.name] = count
    write_manifest(folder, files, {"kind": "benchmark"})
    return sorted(folder.glob("*.ndjson"))


def _scratch_dsn(settings: Settings) -> tuple[str, str, str]:
    """(admin DSN, scratch DSN, scratch database name) on the warehouse's server."""
    facts = settings.connection_facts
    name = f"{facts.dbname}_bench"
    base = settings.dsn.rsplit("/", 1)[0]
    query = "?" + settings.dsn.split("?", 1)[1] if "?" in settings.dsn else ""
    return settings.dsn, f"{base}/{name}{query}", name


def run_ingest_benchmark(settings: Settings, rows: int, console: Console | None = None) -> IngestBenchmark:
    console = console or Console()
    admin_dsn, scratch_dsn, scratch_db = _scratch_dsn(settings)
    workdir = Path(
        tempfile.mkdtemp(prefix="carehouse-bench-", dir=settings.home if settings.home.exists() else None)
    )
    bench_settings = replace(settings, home=workdir, external_dsn=scratch_dsn)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(scratch_db)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(scratch_db)))
    try:
        with console.status(f"writing {rows:,} encounter lines…"):
            files = write_bench_landing(bench_settings.landing_dir, bench_settings, rows)
        ensure_schemas_and_roles(bench_settings)

        with console.status("bronze load (dlt)…"):
            started = time.perf_counter()
            result = load_ehr_to_bronze(bench_settings)
            bronze_s = time.perf_counter() - started
        if result.rows != rows:
            raise RuntimeError(f"bronze load landed {result.rows} rows, expected {rows}")

        with console.status("plain COPY…"), psycopg.connect(scratch_dsn, autocommit=True) as conn:
            conn.execute("create table public.bench_copy (doc jsonb not null)")
            started = time.perf_counter()
            # CSV with quote/delimiter bytes that never occur in JSON text: each line is one value.
            copy_sql = (
                "copy public.bench_copy (doc) from stdin"
                " with (format csv, quote e'\\x01', delimiter e'\\x02')"
            )
            with conn.transaction(), conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for path in files:
                    with path.open("rb") as handle:
                        while chunk := handle.read(1 << 20):
                            copy.write(chunk)
            copy_s = time.perf_counter() - started
            copied = conn.execute("select count(*) from public.bench_copy").fetchone()[0]
            if copied != rows:
                raise RuntimeError(f"plain COPY landed {copied} rows, expected {rows}")
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(scratch_db))
            )
        shutil.rmtree(workdir, ignore_errors=True)
    return IngestBenchmark(rows=rows, bronze_s=bronze_s, copy_s=copy_s)
