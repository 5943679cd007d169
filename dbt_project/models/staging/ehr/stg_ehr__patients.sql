-- ============================================================================
-- stg_ehr__patients
-- One row per bronze Patient line (athena + epic): typed demographics (PHI:
-- stays in silver), _dq_flags and quarantine_reason (null = usable).
-- Never filters: count(stg) = count(bronze.ehr__patient).
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'patient_id']}],
) }}

{% set rules =
    fhir_identity_rules('Patient', 'raw_patient_id')
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_last_updated', 'quarantine': false,
         'when': "last_updated_raw is null"},
        {'name': 'missing_mrn', 'quarantine': false,
         'when': "mrn is null"},
        {'name': 'missing_name', 'quarantine': false,
         'when': "family_name is null and given_name is null"},
        {'name': 'invalid_gender', 'quarantine': false,
         'when': "gender is not null and gender not in ('male', 'female', 'other', 'unknown')"},
    ]
    + fhir_datetime_rules('birth_date', 'birth_date_raw', 'birth_date')
    + [
        {'name': 'future_birth_date', 'quarantine': false,
         'when': "birth_date > cast(" ~ dbt.current_timestamp() ~ " as date)"},
    ]
    + fhir_reference_rules('general_practitioner', 'general_practitioner_reference', 'general_practitioner_id', conditional=true)
%}

with

source as (

    select * from {{ source('ehr', 'ehr__patient') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_patient_id,
        -- every identifier (system + value): conditional references are matched on them
        {{ json_value('resource', ['identifier']) }} as identifiers,
        {{ json_text('resource', ['identifier', 0, 'value']) }} as mrn,
        {{ json_text('resource', ['identifier', 0, 'system']) }} as mrn_system,

        ---------- demographics (PHI)
        {{ json_text('resource', ['name', 0, 'family']) }} as family_name,
        {{ json_text('resource', ['name', 0, 'given', 0]) }} as given_name,
        {{ json_text('resource', ['gender']) }} as gender,
        {{ json_text('resource', ['address', 0, 'line', 0]) }} as address_line,
        {{ json_text('resource', ['address', 0, 'city']) }} as city,
        {{ json_text('resource', ['address', 0, 'state']) }} as state,
        {{ json_text('resource', ['address', 0, 'postalCode']) }} as postal_code,
        {{ json_array_lookup_text('resource', ['telecom'], 'system', 'phone', 'value') }} as phone,
        {{ json_array_lookup_text('resource', ['telecom'], 'system', 'email', 'value') }} as email,

        ---------- references (raw text)
        {{ json_text('resource', ['generalPractitioner', 0, 'reference']) }} as general_practitioner_reference,

        ---------- dates (raw text)
        {{ json_text('resource', ['birthDate']) }} as birth_date_raw,
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
        case when {{ regex_full_match('raw_patient_id', fhir_id_pattern()) }} then raw_patient_id end as patient_id,
        {{ fhir_reference('general_practitioner_reference', 'Practitioner', 'general_practitioner_id') }},
        {{ safe_cast_date('birth_date_raw') }} as birth_date,
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
        patient_id,
        mrn,
        mrn_system,

        ---------- demographics (PHI)
        family_name,
        given_name,
        gender,
        birth_date,
        address_line,
        city,
        state,
        postal_code,
        phone,
        email,

        ---------- care team
        general_practitioner_id,

        ---------- conditional references (resolved in the int model)
        general_practitioner_identifier_system,
        general_practitioner_identifier_value,

        ---------- timestamps
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_patient_id,
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
