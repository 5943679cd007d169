-- ============================================================================
-- int_dq_quarantine_by_reason
-- Rows of every quarantine model by quarantine_reason (the first fatal rule
-- that fired, macros/data_quality/dq_rules.sql). Lines rejected before bronze
-- (not parseable at load) are counted in int_dq_rejected_at_load.
-- ============================================================================

{%- set quarantined = [] -%}
{%- for entry in dq_monitored_tables() -%}
    {%- set t = dq_entry(entry) -%}
    {%- if t.quarantine -%}{%- do quarantined.append(t) -%}{%- endif -%}
{%- endfor %}

with

reasons as (

    {% for t in quarantined -%}
    select
        cast('{{ t.source }}' as {{ dbt.type_string() }}) as source_name,
        cast('{{ t.table }}' as {{ dbt.type_string() }}) as source_table,
        cast('{{ t.quarantine }}' as {{ dbt.type_string() }}) as relation_name,
        cast(quarantine_reason as {{ dbt.type_string() }}) as quarantine_reason,
        cast(count(*) as {{ dbt.type_bigint() }}) as row_count
    from {{ ref(t.quarantine) }} as quarantined_rows
    group by quarantine_reason
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from reasons
