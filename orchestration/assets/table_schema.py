"""Column schemas for Dagster (``dagster/column_schema``) from the column declarations that
create the tables, so the catalogue shows what bronze holds without a database connection."""

from collections.abc import Iterable, Mapping

from dagster import TableColumn, TableColumnConstraints, TableSchema

# the metadata key Dagster's UI reads a table's columns from
COLUMN_SCHEMA_KEY = "dagster/column_schema"


def schema_from_dlt_columns(columns: Mapping[str, Mapping[str, object]]) -> TableSchema:
    """A ``TableSchema`` from dlt column hints (``data_type``, ``nullable``, ``description``)."""
    return TableSchema(
        columns=[
            TableColumn(
                name=name,
                type=str(hint.get("data_type") or "unknown"),
                description=str(hint["description"]) if hint.get("description") else None,
                constraints=TableColumnConstraints(nullable=bool(hint.get("nullable", True))),
            )
            for name, hint in columns.items()
        ]
    )


def schema_from_ddl(columns: Iterable[tuple[str, str]], comments: Mapping[str, str]) -> TableSchema:
    """A ``TableSchema`` from (column, "type [constraints]") pairs as a ``create table`` takes them."""
    schema = []
    for name, definition in columns:
        nullable = "not null" not in definition and "primary key" not in definition
        schema.append(
            TableColumn(
                name=name,
                type=definition.split()[0],
                description=comments.get(name),
                constraints=TableColumnConstraints(nullable=nullable, unique="primary key" in definition),
            )
        )
    return TableSchema(columns=schema)
