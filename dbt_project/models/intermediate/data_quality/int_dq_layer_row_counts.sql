-- ============================================================================
-- int_dq_layer_row_counts
-- Rows of every monitored bronze table and of the models that carry it through
-- silver: bronze -> staging (one row per bronze row) -> quarantine (unusable)
-- -> intermediate (the usable rows, de-duplicated / current). One row per
-- relation; the relations are the explicit list of dq_monitored_tables().
-- ============================================================================

{%- set counted = [] -%}
{%- for entry in dq_monitored_tables() -%}
    {%- set t = dq_entry(entry) -%}
    {%- do counted.append((t, 'bronze', t.table, source(t.source, t.table))) -%}
    {%- do counted.append((t, 'staging', t.staging, ref(t.staging))) -%}
    {%- if t.quarantine -%}{%- do counted.append((t, 'quarantine', t.quarantine, ref(t.quarantine))) -%}{%- endif -%}
    {%- if t.usable -%}{%- do counted.append((t, 'intermediate', t.usable, ref(t.usable))) -%}{%- endif -%}
{%- endfor %}

with

counts as (

    {% for t, layer, name, relation in counted -%}
    select
        cast('{{ t.source }}' as {{ dbt.type_string() }}) as source_name,
        cast('{{ t.table }}' as {{ dbt.type_string() }}) as source_table,
        cast('{{ layer }}' as {{ dbt.type_string() }}) as layer,
        cast('{{ name }}' as {{ dbt.type_string() }}) as relation_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as row_count
    from {{ relation }} as counted_relation
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from counts
