"""What the warehouse holds after a run: rows per layer, quarantine and the review sample.

Counts only: nothing here reads a column that could carry PHI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from psycopg import sql

from ingestion.ehr.bronze import scan_ehr_landing, unmodeled_tables
from ingestion.landing_audit import BatchProblem, open_problems
from warehouse.connection import connect
from warehouse.schemas import LAYER_SCHEMAS
from warehouse.settings import Settings


@dataclass(frozen=True)
class TableCount:
    schema: str
    table: str
    rows: int


@dataclass(frozen=True)
class WarehouseSummary:
    tables: list[TableCount]
    sampled_encounters: int
    sampled_patients: int
    review_encounters: int
    # revenue cycle on the last posting day (None before the first billing load)
    ar_as_of: date | None = None
    ar_outstanding: Decimal | None = None
    days_in_ar: Decimal | None = None
    # population health: the latest measured adherence year and a trailing-12-month PMPM
    adherence_year: int | None = None
    adherent_measures: int = 0
    adherence_measures: int = 0
    pmpm_through: date | None = None
    pmpm_12m: Decimal | None = None
    # landing batches with an open problem: names and counts only
    landing_problems: tuple[BatchProblem, ...] = ()
    # bronze.ehr__<type> tables of resource types silver does not model yet, with their rows
    unmodeled_tables: dict[str, int] = field(default_factory=dict)
    # EHR landing folders no loader may read (a system not in the EHR registry, ...), with why
    unloadable_ehr_folders: dict[str, str] = field(default_factory=dict)

    def rows(self, schema: str, table: str) -> int:
        return next((t.rows for t in self.tables if (t.schema, t.table) == (schema, table)), 0)

    def layer_rows(self, schema: str) -> int:
        return sum(t.rows for t in self.tables if t.schema == schema)

    @property
    def quarantined_rows(self) -> int:
        return sum(t.rows for t in self.tables if t.schema == "silver" and t.table.startswith("quarantine_"))

    @property
    def rejected_lines(self) -> int:
        """Landing lines/rows no loader could store as a record (every source's rejected table)."""
        return sum(
            t.rows
            for t in self.tables
            if t.schema == "bronze" and t.table.endswith(("__rejected_line", "__rejected_row"))
        )


def _tables(conn, schema: str) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s "
        "and table_name not like '\\_dlt%%' and table_name not like 'carehouse\\_\\_%%' order by table_name",
        (schema,),
    )
    return [r[0] for r in rows]


def collect_summary(settings: Settings) -> WarehouseSummary:
    tables: list[TableCount] = []
    with connect(settings) as conn:
        for schema in LAYER_SCHEMAS:
            for table in _tables(conn, schema):
                query = sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
                tables.append(TableCount(schema, table, conn.execute(query).fetchone()[0]))
        sampled = (0, 0, 0)
        if any(t.schema == "review" and t.table == "mart_chart_review" for t in tables):
            sampled = conn.execute(
                "select count(*) filter (where is_sampled),"
                " count(distinct sample_key) filter (where is_sampled),"
                " count(*) from review.mart_chart_review"
            ).fetchone()
        ar: tuple = (None, None, None)
        if any(t.schema == "gold" and t.table == "mart_days_in_ar_by_month" for t in tables):
            ar = (
                conn.execute(
                    "select month_end_date, ar_outstanding, days_in_ar from gold.mart_days_in_ar_by_month"
                    " order by month_end_date desc limit 1"
                ).fetchone()
                or ar
            )
        population = _population_health(conn, tables)
    problems = tuple(open_problems(settings))
    return WarehouseSummary(
        tables,
        sampled[0],
        sampled[1],
        sampled[2],
        *ar,
        *population,
        problems,
        unmodeled_tables(settings),
        scan_ehr_landing(settings).unloadable,
    )


def _population_health(conn, tables: list[TableCount]) -> tuple:
    """(year, adherent, measured, PMPM through, PMPM) of the gold population-health marts."""
    present = {t.table for t in tables if t.schema == "gold"}
    adherence: tuple = (None, 0, 0)
    if "mart_medication_adherence" in present:
        adherence = (
            conn.execute(
                "select measurement_year, count(*) filter (where is_adherent), count(*)"
                " from gold.mart_medication_adherence group by measurement_year"
                " order by measurement_year desc limit 1"
            ).fetchone()
            or adherence
        )
    pmpm: tuple = (None, None)
    if {"mart_pmpm_cost_by_payer_month", "fct_pharmacy_fills"} <= present:
        # the 12 months through the latest complete pharmacy month, all payers together
        pmpm = (
            conn.execute(
                "with through as (select max(fill_month) as month from gold.fct_pharmacy_fills)"
                " select through.month, round(sum(total_paid) / nullif(sum(member_months), 0), 2)"
                " from gold.mart_pmpm_cost_by_payer_month, through"
                " where month_start_date > through.month - interval '12 months'"
                " and month_start_date <= through.month group by through.month"
            ).fetchone()
            or pmpm
        )
    return (*adherence, *pmpm)
