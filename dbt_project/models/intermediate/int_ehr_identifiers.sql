-- ============================================================================
-- int_ehr_identifiers
-- The lookup conditional references are resolved on
-- ('Practitioner?identifier=<system>|<value>'): one row per (source_system,
-- resource_type, identifier_system, identifier_value) from the identifier[]
-- of every usable staged Practitioner, Organization, Patient and Location.
-- identifier_system '' = an identifier without a system; '*' = the same value
-- under any system (the token form 'identifier=<value>'). resource_id is the
-- one resource carrying it, null when several do (ambiguous: unresolved).
-- Small (identifiers of reference resources), unique on its four key columns,
-- so the int models' left joins never multiply rows. _dlt_load_id = the
-- newest load that carried the identifier: the int models recompute the rows
-- whose conditional references match an identifier newer than their watermark.
-- Incremental: each build recomputes, from the full staging history, the
-- identifiers that new loads carry and replaces them (delete+insert).
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'resource_type', 'identifier_system', 'identifier_value'],
    indexes=[
        {'columns': ['source_system', 'resource_type', 'identifier_system', 'identifier_value'], 'unique': true},
        load_id_index(),
    ],
) }}

{% set referenced = [
    ('Practitioner', 'stg_ehr__practitioners', 'practitioner_id'),
    ('Organization', 'stg_ehr__organizations', 'organization_id'),
    ('Patient', 'stg_ehr__patients', 'patient_id'),
    ('Location', 'stg_ehr__locations', 'location_id'),
] %}

with

identifiers as (

    {% for resource_type, model, id_column in referenced -%}
    select
        staged.source_system,
        cast('{{ resource_type }}' as {{ dbt.type_string() }}) as resource_type,
        staged.{{ id_column }} as resource_id,
        coalesce({{ json_text('identifier', ['system']) }}, '') as identifier_system,
        {{ json_text('identifier', ['value']) }} as identifier_value,
        staged._dlt_load_id
    from {{ ref(model) }} as staged
    {{ json_array_rows('staged.identifiers', 'identifier', 'identifier_position') }}
    where staged.quarantine_reason is null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

keyed as (

    select source_system, resource_type, identifier_system, identifier_value, resource_id, _dlt_load_id
    from identifiers
    where identifier_value is not null

    union all

    select source_system, resource_type, '*', identifier_value, resource_id, _dlt_load_id
    from identifiers
    where identifier_value is not null

),
{%- if incremental_build() %}

touched as (

    -- the identifiers the new loads carry (their keys' every row is recomputed)
    select distinct source_system, resource_type, identifier_system, identifier_value
    from keyed
    where {{ incremental_load_filter() }}

),
{%- endif %}

final as (

    select
        source_system,
        resource_type,
        identifier_system,
        identifier_value,
        case when count(distinct resource_id) = 1 then min(resource_id) end as resource_id,
        count(distinct resource_id) as matching_resources,
        cast(max({{ load_id_number('keyed._dlt_load_id') }}) as {{ dbt.type_string() }}) as _dlt_load_id
    from keyed
    {%- if incremental_build() %}
    inner join touched
        using (source_system, resource_type, identifier_system, identifier_value)
    {%- endif %}
    group by source_system, resource_type, identifier_system, identifier_value

)

select * from final
