-- ============================================================================
-- int_dq_source_freshness
-- The latest load of every monitored bronze table: when it landed (the
-- table's load-time column), its landing batch and how many rows it added.
-- One row per table; an empty table has a null last_loaded_at and 0 rows.
-- ============================================================================

with

loads as (

    {% for entry in dq_monitored_tables() -%}
    {%- set t = dq_entry(entry) -%}
    select
        cast('{{ t.source }}' as {{ dbt.type_string() }}) as source_name,
        cast('{{ t.table }}' as {{ dbt.type_string() }}) as source_table,
        latest.last_loaded_at,
        cast(max({{ ('loaded.' ~ t.batch) if t.batch else 'null' }}) as {{ dbt.type_string() }}) as latest_batch,
        cast(count(loaded.{{ t.loaded_at }}) as {{ dbt.type_bigint() }}) as latest_load_rows
    from (
        select max({{ t.loaded_at }}) as last_loaded_at from {{ source(t.source, t.table) }}
    ) as latest
    left join {{ source(t.source, t.table) }} as loaded
        on loaded.{{ t.loaded_at }} = latest.last_loaded_at
    group by latest.last_loaded_at
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from loads
