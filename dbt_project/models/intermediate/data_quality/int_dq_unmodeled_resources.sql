-- ============================================================================
-- int_dq_unmodeled_resources
-- FHIR resource types that reached bronze but that silver does not model yet
-- (an export's Device, DocumentReference, OperationOutcome errors, ...): they
-- land in bronze.ehr__<type> and are counted here per (EHR system, type), so
-- nothing an EHR sends is dropped without a trace. "Modeled" = the type has a
-- table in the `ehr` dbt source, read from dbt's graph (no list in SQL): a
-- new staging model's source table takes its type off this list.
-- Counts come from bronze.ehr__file_log (one row per loaded landing file,
-- written in the same load as its rows): a dlt table variant of the EHR
-- load, not a dbt source, looked up at run time like int_dq_rejected_at_load
-- (no lineage edge). A warehouse without EHR file loads counts nothing.
-- ============================================================================

{%- set systems = source('ehr', 'ehr__systems') -%}
{%- set file_log = api.Relation.create(database=systems.database, schema=systems.schema, identifier='ehr__file_log') -%}
{%- set modeled = [] -%}
{%- if execute -%}
    {%- for node in graph.sources.values() if node.source_name == 'ehr' and node.name != 'ehr__systems' -%}
        {%- do modeled.append(node.name | replace('ehr__', '', 1)) -%}
    {%- endfor -%}
{%- endif -%}
{%- set logged = execute and load_relation(file_log) is not none %}

with

unmodeled as (

    {% if logged and modeled -%}
    select
        ehr_system,
        entity,
        cast(count(*) as {{ dbt.type_bigint() }}) as file_count,
        cast(sum(rows_loaded) as {{ dbt.type_bigint() }}) as row_count,
        cast(sum(rows_rejected) as {{ dbt.type_bigint() }}) as rejected_count
    from {{ file_log }} as logged_files
    where entity not in ({% for entity in modeled | sort %}'{{ entity }}'{% if not loop.last %}, {% endif %}{% endfor %})
    group by ehr_system, entity
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as ehr_system,
        cast(null as {{ dbt.type_string() }}) as entity,
        cast(0 as {{ dbt.type_bigint() }}) as file_count,
        cast(0 as {{ dbt.type_bigint() }}) as row_count,
        cast(0 as {{ dbt.type_bigint() }}) as rejected_count
    where 1 = 0
    {%- endif %}

),

final as (

    select
        cast('ehr' as {{ dbt.type_string() }}) as source_name,
        cast({{ dbt.concat(['ehr_system', "'/'", 'entity']) }} as {{ dbt.type_string() }}) as source_table,
        cast({{ dbt.concat(["'ehr__'", 'entity']) }} as {{ dbt.type_string() }}) as relation_name,
        cast(ehr_system as {{ dbt.type_string() }}) as ehr_system,
        cast(entity as {{ dbt.type_string() }}) as entity,
        file_count,
        row_count,
        rejected_count
    from unmodeled

)

select * from final
