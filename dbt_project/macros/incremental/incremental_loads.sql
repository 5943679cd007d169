{#- ===========================================================================
    The watermark of incremental silver: the bronze load id (_dlt_load_id, a
    dlt load package id, the text of a unix timestamp) of COMPLETED loads.
    A load is complete once dlt wrote its row to bronze._dlt_loads with
    status 0; the rows of an interrupted load are deleted by the next load
    (ingestion/bronze_loads.py), so silver never reads them. Load ids are
    compared as numbers, never as text.

    incremental_build(): is_incremental(), false in a unit test (whose
        rendering has no {{ this }}, so dbt's is_incremental() fails there).
        Every model and macro asks it, never is_incremental(), so a unit
        test tests the full build without an override; one of the
        incremental build gives `this` as an input and overrides the macro:
            overrides: {macros: {incremental_build: true}}
        (the override reaches the models, which call incremental_build();
        macros call carehouse.incremental_build(): that name would need
        `carehouse.incremental_build: true` too).
    load_id_number(column): the load id as a number (the expression the
        models' load-id indexes are built on, so the filters below use them).
    load_watermark(relation, column): a scalar subquery, the greatest load id
        `relation` holds (-1 when empty).
    completed_load_ids(): a subquery, the ids of the completed bronze loads
        (bronze._dlt_loads: one row per load package, written by dlt at the
        very end of the load, status 0 = every table arrived). Not a dbt
        source: every loader writes it, so no source's lineage owns it (as a
        source it would be a placeholder asset in the Dagster graph).
    incremental_load_filter(column, completed_only): a boolean for a WHERE:
        on an incremental build, rows of loads newer than the watermark of
        {{ this }}; with completed_only (models reading bronze), also only
        rows of completed loads, on a full build as well; `true` when neither
        applies. Staging and quarantine are append-only by load id: loads
        complete in id order, so every row of a load above the watermark is
        new and every row at or below it is already there. A unit test gets
        the full build without the completed-loads filter (its given rows
        stand for completed loads). Example:
            select * from {{ source('ehr', 'ehr__encounter') }}
            where {{ incremental_load_filter(completed_only=true) }}
    load_id_index(column): the `indexes` config entry of the load-id index
        (the watermark's max() and the new rows' range scan read it).
=========================================================================== -#}
{% macro incremental_build() -%}
    {{ return(model.resource_type != 'unit_test' and is_incremental()) }}
{%- endmacro %}

{% macro load_id_number(column='_dlt_load_id') -%}
    {{ return(adapter.dispatch('load_id_number', 'carehouse')(column)) }}
{%- endmacro %}

{% macro postgres__load_id_number(column) -%}
    cast({{ column }} as numeric)
{%- endmacro %}

{% macro default__load_id_number(column) -%}
    cast({{ column }} as decimal(38, 9))
{%- endmacro %}

{% macro load_watermark(relation=none, column='_dlt_load_id') -%}
    (select coalesce(max({{ carehouse.load_id_number(column) }}), -1) from {{ relation if relation is not none else this }})
{%- endmacro %}

{% macro completed_load_ids() -%}
    {%- set loads = api.Relation.create(database=target.database, schema='bronze', identifier='_dlt_loads') %}
    (select load_id from {{ loads }} where status = 0)
{%- endmacro %}

{% macro incremental_load_filter(column='_dlt_load_id', completed_only=false) -%}
    {%- set conditions = [] -%}
    {%- set unit_test = model.resource_type == 'unit_test' -%}
    {%- if completed_only and not unit_test -%}
        {%- do conditions.append(column ~ ' in ' ~ carehouse.completed_load_ids()) -%}
    {%- endif -%}
    {%- if carehouse.incremental_build() -%}
        {%- do conditions.append(carehouse.load_id_number(column) ~ ' > ' ~ carehouse.load_watermark(this, column.split('.')[-1])) -%}
    {%- endif -%}
    {{ conditions | join('\n        and ') if conditions else 'true' }}
{%- endmacro %}

{% macro load_id_index(column='_dlt_load_id') -%}
    {{ return({'columns': ['(' ~ carehouse.load_id_number(column) ~ ')']}) }}
{%- endmacro %}
