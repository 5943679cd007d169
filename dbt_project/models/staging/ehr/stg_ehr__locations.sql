-- ============================================================================
-- stg_ehr__locations
-- One row per bronze Location line (athena + epic): id, name, managing
-- organization, _dq_flags and quarantine_reason (null = usable). Never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'location_id']}],
) }}

{% set rules =
    fhir_identity_rules('Location', 'raw_location_id')
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_name', 'quarantine': false,
         'when': "location_name is null"},
        {'name': 'missing_managing_organization', 'quarantine': false,
         'when': "managing_organization_reference is null"},
    ]
    + fhir_reference_rules('managing_organization', 'managing_organization_reference', 'managing_organization_id', conditional=true)
%}

with

source as (

    select * from {{ source('ehr', 'ehr__location') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_location_id,
        -- every identifier (system + value): conditional references are matched on them
        {{ json_value('resource', ['identifier']) }} as identifiers,
        {{ json_text('resource', ['managingOrganization', 'reference']) }} as managing_organization_reference,

        ---------- attributes (a facility's address is not PHI)
        {{ json_text('resource', ['name']) }} as location_name,
        {{ json_text('resource', ['type', 0, 'coding', 0, 'code']) }} as location_type_code,
        {{ json_text('resource', ['type', 0, 'coding', 0, 'display']) }} as location_type_display,
        {{ json_text('resource', ['address', 'city']) }} as city,
        {{ json_text('resource', ['address', 'state']) }} as state,
        {{ json_text('resource', ['address', 'postalCode']) }} as postal_code,

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
        case when {{ regex_full_match('raw_location_id', fhir_id_pattern()) }} then raw_location_id end as location_id,
        {{ fhir_reference('managing_organization_reference', 'Organization', 'managing_organization_id') }},
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
        location_id,
        managing_organization_id,

        ---------- conditional references (resolved in the int model)
        managing_organization_identifier_system,
        managing_organization_identifier_value,

        ---------- attributes
        location_name,
        location_type_code,
        location_type_display,
        city,
        state,
        postal_code,

        ---------- timestamps
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_location_id,
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
