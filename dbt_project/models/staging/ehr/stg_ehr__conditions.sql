-- ============================================================================
-- stg_ehr__conditions
-- One row per bronze Condition line of every EHR: the diagnosis code (the
-- ICD-10-CM coding when there is one, else the first coding, e.g. SNOMED CT,
-- with its code_system) with patient/encounter ids, _dq_flags and
-- quarantine_reason. Never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'condition_id']}],
) }}

{#- the coding a diagnosis is read by: ICD-10-CM wherever it is in code.coding[], else the first -#}
{% set condition_code_systems = ['http://hl7.org/fhir/sid/icd-10-cm'] %}

{% set rules =
    fhir_identity_rules('Condition', 'raw_condition_id')
    + fhir_reference_rules('patient', 'patient_reference', 'patient_id', required=true, conditional=true)
    + [
        {'name': 'missing_code', 'quarantine': true,
         'when': "condition_code is null"},
    ]
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'non_icd10_code_system', 'quarantine': false,
         'when': "coalesce(code_system, '') <> 'http://hl7.org/fhir/sid/icd-10-cm'"},
    ]
    + fhir_reference_rules('encounter', 'encounter_reference', 'encounter_id')
    + fhir_datetime_rules('recorded_date', 'recorded_raw', 'recorded_date')
%}

with

source as (

    select * from {{ source('ehr', 'ehr__condition') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_condition_id,
        {{ json_text('resource', ['subject', 'reference']) }} as patient_reference,
        {{ json_text('resource', ['encounter', 'reference']) }} as encounter_reference,

        ---------- codes (the preferred coding, its system kept: SNOMED CT-only conditions too)
        {{ fhir_preferred_coding('resource', ['code'], condition_code_systems, 'system') }} as code_system,
        {{ fhir_preferred_coding('resource', ['code'], condition_code_systems, 'code') }} as condition_code,
        {{ fhir_preferred_coding('resource', ['code'], condition_code_systems, 'display') }} as condition_display,
        {{ json_text('resource', ['clinicalStatus', 'coding', 0, 'code']) }} as clinical_status_code,
        {{ json_text('resource', ['verificationStatus', 'coding', 0, 'code']) }} as verification_status_code,

        ---------- timestamps (raw text)
        {{ json_text('resource', ['recordedDate']) }} as recorded_raw,
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
        case when {{ regex_full_match('raw_condition_id', fhir_id_pattern()) }} then raw_condition_id end as condition_id,
        {{ fhir_reference('patient_reference', 'Patient', 'patient_id') }},
        {{ fhir_reference_id('encounter_reference', 'Encounter') }} as encounter_id,

        ---------- timestamps: recordedDate is a FHIR dateTime (a bare date is allowed)
        {{ safe_cast_timestamptz('recorded_raw') }} as recorded_at,
        {{ safe_cast_date('substr(recorded_raw, 1, 10)') }} as recorded_date,
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
        condition_id,
        patient_id,
        encounter_id,

        ---------- conditional references (resolved in the int model)
        patient_identifier_system,
        patient_identifier_value,

        ---------- codes
        code_system,
        condition_code,
        condition_display,
        clinical_status_code,
        verification_status_code,

        ---------- timestamps
        recorded_at,
        recorded_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_condition_id,

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
