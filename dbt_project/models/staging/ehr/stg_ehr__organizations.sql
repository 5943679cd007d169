-- ============================================================================
-- stg_ehr__organizations
-- One row per bronze Organization line (athena + epic): id, name, type,
-- _dq_flags and quarantine_reason (null = usable). Never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'organization_id']}],
) }}

{% set rules =
    fhir_identity_rules('Organization', 'raw_organization_id')
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_name', 'quarantine': false,
         'when': "organization_name is null"},
    ]
%}

with

source as (

    select * from {{ source('ehr', 'ehr__organization') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_organization_id,
        -- every identifier (system + value): conditional references are matched on them
        {{ json_value('resource', ['identifier']) }} as identifiers,

        ---------- attributes
        {{ json_text('resource', ['name']) }} as organization_name,
        {{ json_text('resource', ['type', 0, 'coding', 0, 'code']) }} as organization_type_code,
        {{ json_text('resource', ['type', 0, 'coding', 0, 'display']) }} as organization_type_display,

        ---------- timestamps (raw text)
        {{ json_text('resource', ['meta', 'lastUpdated']) }} as last_updated_raw,

        ---------- lineage
        ehr_system as source_system,
        tenant,
        environment,
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from source

),

typed {{ materialized_cte() }} (

    select
        renamed.*,
        case when {{ regex_full_match('raw_organization_id', fhir_id_pattern()) }} then raw_organization_id end as organization_id,
        {{ safe_cast_timestamptz('last_updated_raw') }} as source_last_updated_at
    from renamed

),

validated {{ materialized_cte() }} (

    select
        typed.*,
        {{ dq_flags(rules) }} as _dq_flags,
        {{ quarantine_reason(rules) }} as quarantine_reason
    from typed

),

final as (

    select
        ---------- ids
        source_system,
        organization_id,

        ---------- attributes
        organization_name,
        organization_type_code,
        organization_type_display,

        ---------- timestamps
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_organization_id,
        identifiers,

        ---------- lineage
        tenant,
        environment,
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from validated

)

select * from final
