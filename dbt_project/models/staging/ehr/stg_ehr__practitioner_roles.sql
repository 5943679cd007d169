-- ============================================================================
-- stg_ehr__practitioner_roles
-- One row per bronze PractitionerRole line (athena + epic): which practitioner
-- works where (organization, location) in which specialty (the department),
-- _dq_flags and quarantine_reason (null = usable). Never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'practitioner_role_id']}],
) }}

{% set rules =
    fhir_identity_rules('PractitionerRole', 'raw_practitioner_role_id')
    + fhir_reference_rules('practitioner', 'practitioner_reference', 'practitioner_id', required=true, conditional=true)
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_last_updated', 'quarantine': false,
         'when': "last_updated_raw is null"},
        {'name': 'invalid_active', 'quarantine': false,
         'when': "active_raw is not null and active_raw not in ('true', 'false')"},
        {'name': 'missing_specialty', 'quarantine': false,
         'when': "specialty_code is null"},
    ]
    + fhir_reference_rules('organization', 'organization_reference', 'organization_id', conditional=true)
    + fhir_reference_rules('location', 'location_reference', 'location_id', conditional=true)
%}

with

source as (

    select * from {{ source('ehr', 'ehr__practitionerrole') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_practitioner_role_id,
        {{ json_text('resource', ['practitioner', 'reference']) }} as practitioner_reference,
        {{ json_text('resource', ['organization', 'reference']) }} as organization_reference,
        {{ json_text('resource', ['location', 0, 'reference']) }} as location_reference,

        ---------- codes: the specialty is the department (NUCC provider taxonomy)
        {{ json_text('resource', ['active']) }} as active_raw,
        {{ json_text('resource', ['specialty', 0, 'coding', 0, 'system']) }} as specialty_system,
        {{ json_text('resource', ['specialty', 0, 'coding', 0, 'code']) }} as specialty_code,
        {{ json_text('resource', ['specialty', 0, 'coding', 0, 'display']) }} as specialty_display,

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

        ---------- ids
        case when {{ regex_full_match('raw_practitioner_role_id', fhir_id_pattern()) }} then raw_practitioner_role_id end as practitioner_role_id,
        {{ fhir_reference('practitioner_reference', 'Practitioner', 'practitioner_id') }},
        {{ fhir_reference('organization_reference', 'Organization', 'organization_id') }},
        {{ fhir_reference('location_reference', 'Location', 'location_id') }},

        ---------- flags: a missing `active` means active (FHIR default reading)
        case
            when active_raw = 'false' then false
            when active_raw = 'true' or active_raw is null then true
        end as is_active,

        ---------- timestamps
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
        practitioner_role_id,
        practitioner_id,
        organization_id,
        location_id,

        ---------- conditional references (resolved in the int model)
        practitioner_identifier_system,
        practitioner_identifier_value,
        organization_identifier_system,
        organization_identifier_value,
        location_identifier_system,
        location_identifier_value,

        ---------- codes
        is_active,
        specialty_system,
        specialty_code,
        specialty_display,

        ---------- timestamps
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_practitioner_role_id,

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
