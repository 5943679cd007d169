-- ============================================================================
-- stg_ehr__practitioners
-- One row per bronze Practitioner line (athena + epic): id, NPI, name,
-- _dq_flags and quarantine_reason (null = usable). Never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'practitioner_id']}],
) }}

{% set rules =
    fhir_identity_rules('Practitioner', 'raw_practitioner_id')
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_npi', 'quarantine': false,
         'when': "npi is null"},
        {'name': 'invalid_npi', 'quarantine': false,
         'when': "npi is not null and not " ~ regex_full_match('npi', '^[0-9]{10}$')},
        {'name': 'missing_name', 'quarantine': false,
         'when': "family_name is null and given_name is null"},
    ]
%}

with

source as (

    select * from {{ source('ehr', 'ehr__practitioner') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_practitioner_id,
        -- every identifier (system + value): conditional references are matched on them
        {{ json_value('resource', ['identifier']) }} as identifiers,
        -- the NPI is the identifier whose system is the US NPI namespace
        {{ json_array_lookup_text('resource', ['identifier'], 'system', 'http://hl7.org/fhir/sid/us-npi', 'value') }} as npi,

        ---------- names
        {{ json_text('resource', ['name', 0, 'family']) }} as family_name,
        {{ json_text('resource', ['name', 0, 'given', 0]) }} as given_name,
        {{ json_text('resource', ['name', 0, 'prefix', 0]) }} as name_prefix,

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
        case when {{ regex_full_match('raw_practitioner_id', fhir_id_pattern()) }} then raw_practitioner_id end as practitioner_id,
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
        practitioner_id,
        npi,

        ---------- names
        family_name,
        given_name,
        name_prefix,

        ---------- timestamps
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_practitioner_id,
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
