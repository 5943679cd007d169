"""``carehouse bench``: a bronze load against the floor set by a plain ``COPY`` of the same files.

``ingest`` times the EHR NDJSON load, ``feeds`` the metadata-driven CSV feed loader. Both runs
of a benchmark read the same files on the same server, in a scratch database that is dropped
afterwards, so the warehouse itself is never touched.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console

from ingestion.billing.simulator.chargemaster import PRICE_CENTS
from ingestion.billing.simulator.extracts import TRANSACTION_COLUMNS, format_cents
from ingestion.ehr.pipeline import load_ehr_to_bronze
from ingestion.feeds.pipeline import load_feeds_to_bronze
from ingestion.landing import batch_dir, batch_id_for, write_manifest
from warehouse.schemas import ensure_schemas_and_roles
from warehouse.settings import Settings

LINES_PER_FILE = 100_000
# One file per batch folder: the default load config globs billing_athena/transactions/*/transactions.csv.
FEED_ROWS_PER_FILE = 200_000
FEED_TABLE = "billing__transactions"
# Service days from 2023-01-01: every posting (at most 90 days later) precedes the first batch, 2025-01-01.
SERVICE_DAYS = 600
STATUSES = (
    ("finished",) * 58
    + ("cancelled",) * 18
    + ("planned",) * 12
    + ("in-progress",) * 7
    + ("entered-in-error",) * 5
)
PAYERS = ("BCBS", "UHC", "AETNA", "CIGNA", "MEDICARE", "MEDICAID", "SELFPAY")
CPT_CODES = tuple(PRICE_CENTS)
COPY_TABLE = sql.Identifier("public", "bench_copy")


@dataclass(frozen=True)
class LoadBenchmark:
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


def _transaction_lines(first: int, count: int, days: list[str]) -> Iterator[str]:
    """Athena billing rows as the extract writes them (CRLF, nothing needs quoting): each charge
    line is a CHARGE, its contractual ADJUSTMENT, the payer's PAYMENT and the patient's PAYMENT
    (every fifth charge a WRITE_OFF instead), posted days after service, so AR nets to zero."""
    for n in range(first, first + count):
        charge, slot = divmod(n, 4)
        encounter = charge // 3
        patient = encounter % 150_000 + 1
        payer = PAYERS[patient % len(PAYERS)]
        cpt = CPT_CODES[charge % len(CPT_CODES)]
        price = PRICE_CENTS[cpt]
        service_day = encounter // 50 % SERVICE_DAYS
        if slot == 0:
            kind, cents, source, lag = "CHARGE", price, "", 1
        elif slot == 1:
            kind, cents, source, lag = "ADJUSTMENT", price * 45 // 100, "", 18
        elif slot == 2:
            source = "patient" if payer == "SELFPAY" else "payer"
            kind, cents, lag = "PAYMENT", price * 40 // 100, 18
        else:
            rest = price - price * 45 // 100 - price * 40 // 100
            kind, cents, lag = ("WRITE_OFF", rest, 90) if charge % 5 == 0 else ("PAYMENT", rest, 45)
            source = "patient" if kind == "PAYMENT" else ""
        posted = days[service_day + lag]
        stamp = f"{posted}T{13 + n % 10}:{n % 60:02d}:{n % 59:02d}Z"
        yield (
            f"{n + 1},ATH{patient:07d},{patient},{encounter + 1},{charge * 4 + 1},{charge % 3 + 1},{kind},"
            f"{cpt},{days[service_day]},{posted},{format_cents(cents)},{payer},{source},"
            f"{encounter % 900 + 1},{encounter % 28 + 1},{stamp}\r\n"
        )


def write_feed_bench_landing(
    settings: Settings, rows: int, rows_per_file: int = FEED_ROWS_PER_FILE
) -> list[Path]:
    """``rows`` athena transactions in batch folders of one ``transactions.csv`` each, manifested."""
    start = date(2023, 1, 1)
    days = [(start + timedelta(days=offset)).isoformat() for offset in range(SERVICE_DAYS + 90)]
    header = ",".join(TRANSACTION_COLUMNS) + "\r\n"
    files: list[Path] = []
    for part, first in enumerate(range(0, rows, rows_per_file)):
        count = min(rows_per_file, rows - first)
        batch_id = batch_id_for(date(2025, 1, 1) + timedelta(days=part))
        folder = batch_dir(
            settings.landing_dir,
            settings.tenant,
            settings.environment,
            "billing_athena",
            "transactions",
            batch_id,
        )
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "transactions.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(header)
            handle.writelines(_transaction_lines(first, count, days))
        write_manifest(folder, {path.name: count}, {"kind": "benchmark", "rows": count, "dirty": {}})
        files.append(path)
    return files


def _scratch_dsn(settings: Settings, suffix: str = "bench") -> tuple[str, str, str]:
    """(admin DSN, scratch DSN, scratch database name) on the warehouse's server."""
    facts = settings.connection_facts
    name = f"{facts.dbname}_{suffix}"
    base = settings.dsn.rsplit("/", 1)[0]
    query = "?" + settings.dsn.split("?", 1)[1] if "?" in settings.dsn else ""
    return settings.dsn, f"{base}/{name}{query}", name


@contextmanager
def _scratch_warehouse(settings: Settings, suffix: str = "bench") -> Iterator[Settings]:
    """Settings for a fresh database (with the layer schemas) on the warehouse's server, named
    after the warehouse's with ``_<suffix>``, and a temporary carehouse home; both are removed
    afterwards, the database by force because a failed load may leave connections open."""
    admin_dsn, scratch_dsn, scratch_db = _scratch_dsn(settings, suffix)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(scratch_db)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(scratch_db)))
    workdir = Path(
        tempfile.mkdtemp(prefix="carehouse-bench-", dir=settings.home if settings.home.exists() else None)
    )
    try:
        bench_settings = replace(settings, home=workdir, external_dsn=scratch_dsn)
        ensure_schemas_and_roles(bench_settings)
        yield bench_settings
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(scratch_db))
            )
        shutil.rmtree(workdir, ignore_errors=True)


def _timed_copy(
    dsn: str, columns: sql.Composable, copy_sql: sql.Composable, streams: list[list[Path]]
) -> float:
    """Seconds for a plain COPY into a fresh ``public.bench_copy`` in one transaction: one
    ``COPY`` statement per stream, fed the bytes of its files back to back."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create table {} ({})").format(COPY_TABLE, columns))
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            for stream in streams:
                with cursor.copy(copy_sql) as copy:
                    for path in stream:
                        with path.open("rb") as handle:
                            while chunk := handle.read(1 << 20):
                                copy.write(chunk)
        return time.perf_counter() - started


def _count(dsn: str, table: sql.Identifier) -> int:
    with psycopg.connect(dsn) as conn:
        return int(conn.execute(sql.SQL("select count(*) from {}").format(table)).fetchone()[0])


def run_ingest_benchmark(settings: Settings, rows: int, console: Console | None = None) -> LoadBenchmark:
    console = console or Console()
    with _scratch_warehouse(settings) as bench_settings:
        with console.status(f"writing {rows:,} encounter lines…"):
            files = write_bench_landing(bench_settings.landing_dir, bench_settings, rows)

        with console.status("bronze load (dlt)…"):
            started = time.perf_counter()
            result = load_ehr_to_bronze(bench_settings)
            bronze_s = time.perf_counter() - started
        if result.rows != rows:
            raise RuntimeError(f"bronze load landed {result.rows} rows, expected {rows}")

        with console.status("plain COPY…"):
            # CSV with quote/delimiter bytes that never occur in JSON text: each line is one value.
            copy_sql = sql.SQL(
                "copy {} (doc) from stdin with (format csv, quote e'\\x01', delimiter e'\\x02')"
            ).format(COPY_TABLE)
            copy_s = _timed_copy(bench_settings.dsn, sql.SQL("doc jsonb not null"), copy_sql, [files])
        copied = _count(bench_settings.dsn, COPY_TABLE)
        if copied != rows:
            raise RuntimeError(f"plain COPY landed {copied} rows, expected {rows}")
    return LoadBenchmark(rows=rows, bronze_s=bronze_s, copy_s=copy_s)


def run_feeds_benchmark(
    settings: Settings, rows: int, console: Console | None = None, rows_per_file: int = FEED_ROWS_PER_FILE
) -> LoadBenchmark:
    """The feed loader (default load config) on ``rows`` billing transactions against a plain
    ``COPY`` of the same CSV files into 16 text columns."""
    console = console or Console()
    with _scratch_warehouse(settings) as bench_settings:
        with console.status(f"writing {rows:,} billing transactions…"):
            files = write_feed_bench_landing(bench_settings, rows, rows_per_file)

        with console.status("bronze load (feeds, dlt)…"):
            started = time.perf_counter()
            load_feeds_to_bronze(bench_settings)
            bronze_s = time.perf_counter() - started
        loaded = _count(bench_settings.dsn, sql.Identifier("bronze", FEED_TABLE))
        if loaded != rows:
            raise RuntimeError(
                f"bronze.{FEED_TABLE} holds {loaded} rows after the feed load, expected {rows}"
            )

        with console.status("plain COPY…"):
            columns = sql.SQL(", ").join(
                sql.SQL("{} text").format(sql.Identifier(name)) for name in TRANSACTION_COLUMNS
            )
            # HEADER skips the first line of each COPY stream, so each file gets its own COPY.
            copy_sql = sql.SQL("copy {} from stdin (format csv, header true)").format(COPY_TABLE)
            copy_s = _timed_copy(bench_settings.dsn, columns, copy_sql, [[path] for path in files])
        copied = _count(bench_settings.dsn, COPY_TABLE)
        if copied != rows:
            raise RuntimeError(f"plain COPY landed {copied} rows, expected {rows}")
    return LoadBenchmark(rows=rows, bronze_s=bronze_s, copy_s=copy_s)
