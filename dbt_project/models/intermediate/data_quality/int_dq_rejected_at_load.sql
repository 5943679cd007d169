-- ============================================================================
-- int_dq_rejected_at_load
-- Landing lines / CSV records the loaders could not store as a bronze row
-- (not JSON, wrong number of fields, ...), per bronze table they were meant
-- for. They sit in bronze's reject tables, which dlt creates with the first
-- rejected line: a table that does not exist yet counts nothing.
--   feeds__rejected_row (billing, claims, pharmacy, eligibility): a dbt
--     source (dlt asset), column table_name
--   ehr__rejected_line (column entity) and adt__rejected_line: dlt table
--     variants of the EHR / ADT loads, not dbt sources: found in the same
--     bronze schema at run time (no lineage edge for these two).
-- ============================================================================

{%- set feeds = source('feeds', 'feeds__rejected_row') -%}
{%- set rejects = [
    (feeds, dbt.split_part('table_name', "'__'", 1), 'table_name'),
    (api.Relation.create(database=feeds.database, schema=feeds.schema, identifier='ehr__rejected_line'),
     "'ehr'", dbt.concat(["'ehr__'", 'entity'])),
    (api.Relation.create(database=feeds.database, schema=feeds.schema, identifier='adt__rejected_line'),
     "'adt'", "'adt__events'"),
] -%}
{%- set present = [] -%}
{%- for relation, source_name, source_table in rejects -%}
    {%- if execute and load_relation(relation) is not none -%}
        {%- do present.append((relation, source_name, source_table)) -%}
    {%- endif -%}
{%- endfor %}

with

rejected as (

    {% for relation, source_name, source_table in present -%}
    select
        cast({{ source_name }} as {{ dbt.type_string() }}) as source_name,
        cast({{ source_table }} as {{ dbt.type_string() }}) as source_table,
        cast('{{ relation.identifier }}' as {{ dbt.type_string() }}) as relation_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as row_count
    from {{ relation }} as rejected_rows
    group by 1, 2
    union all
    {% endfor -%}
    select
        cast(null as {{ dbt.type_string() }}) as source_name,
        cast(null as {{ dbt.type_string() }}) as source_table,
        cast(null as {{ dbt.type_string() }}) as relation_name,
        cast(0 as {{ dbt.type_bigint() }}) as row_count
    where 1 = 0

)

select * from rejected
