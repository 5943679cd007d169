-- ============================================================================
-- int_dq_flags_by_rule
-- Staged rows on which each data-quality rule fired, per staging model: the
-- pipe-separated _dq_flags ('MISSING_ID|MISSING_END') split into one row per
-- rule, so a row with two flags counts once for each. Flags that did not
-- fire have no row (zero).
-- ============================================================================

{%- set flagged = [] -%}
{%- for entry in dq_monitored_tables() -%}
    {%- set t = dq_entry(entry) -%}
    {%- if t.flags -%}{%- do flagged.append(t) -%}{%- endif -%}
{%- endfor %}

with

rules as (

    {% for t in flagged -%}
    select
        cast('{{ t.source }}' as {{ dbt.type_string() }}) as source_name,
        cast('{{ t.table }}' as {{ dbt.type_string() }}) as source_table,
        cast('{{ t.staging }}' as {{ dbt.type_string() }}) as relation_name,
        cast(rule_name as {{ dbt.type_string() }}) as rule_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as flagged_rows
    from (
        select {{ dq_split_flags('_dq_flags') }} as rule_name
        from {{ ref(t.staging) }}
        where _dq_flags is not null
    ) as fired
    group by rule_name
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from rules
