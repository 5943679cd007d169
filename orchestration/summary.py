"""What the warehouse holds after a run: rows per layer, quarantine and the review sample.

Counts only: nothing here reads a column that could carry PHI.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

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

    def rows(self, schema: str, table: str) -> int:
        return next((t.rows for t in self.tables if (t.schema, t.table) == (schema, table)), 0)

    def layer_rows(self, schema: str) -> int:
        return sum(t.rows for t in self.tables if t.schema == schema)

    @property
    def quarantined_rows(self) -> int:
        return sum(t.rows for t in self.tables if t.schema == "silver" and t.table.startswith("quarantine_"))

    @property
    def rejected_lines(self) -> int:
        return self.rows("bronze", "ehr__rejected_line")


def _tables(conn, schema: str) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s "
        "and table_name not like '\\_dlt%%' order by table_name",
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
    return WarehouseSummary(tables, sampled[0], sampled[1], sampled[2])
