-- ============================================================================
-- stg_ehr__immunizations
-- One row per bronze Immunization line (US Core): the vaccine as a CVX code
-- (the CVX coding of vaccineCode when it has several), status (completed /
-- not-done / entered-in-error) with the reason a dose was not given,
-- occurrence time, patient and encounter ids. _dq_flags and
-- quarantine_reason; never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'immunization_id']}],
) }}

{#- the coding a vaccine is read by: CVX wherever it is in vaccineCode.coding[], else the first -#}
{% set vaccine_code_systems = ['http://hl7.org/fhir/sid/cvx'] %}

{% set immunization_statuses = ['completed', 'entered-in-error', 'not-done'] %}

{% set rules =
    fhir_identity_rules('Immunization', 'raw_immunization_id')
    + fhir_reference_rules('patient', 'patient_reference', 'patient_id', required=true, conditional=true)
    + [
        {'name': 'missing_code', 'quarantine': true,
         'when': "vaccine_code is null"},
    ]
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_last_updated', 'quarantine': false,
         'when': "last_updated_raw is null"},
        {'name': 'unexpected_status', 'quarantine': false,
         'when': "immunization_status is null or immunization_status not in ('" ~ immunization_statuses | join("', '") ~ "')"},
        {'name': 'non_cvx_code_system', 'quarantine': false,
         'when': "coalesce(vaccine_code_system, '') <> 'http://hl7.org/fhir/sid/cvx'"},
    ]
    + fhir_reference_rules('encounter', 'encounter_reference', 'encounter_id')
    + fhir_datetime_rules('occurrence', 'occurrence_raw', 'occurred_at', required=true)
%}

with

source as (

    select * from {{ source('ehr', 'ehr__immunization') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_immunization_id,
        {{ json_text('resource', ['patient', 'reference']) }} as patient_reference,
        {{ json_text('resource', ['encounter', 'reference']) }} as encounter_reference,

        ---------- codes
        {{ json_text('resource', ['status']) }} as immunization_status,
        {{ json_text('resource', ['statusReason', 'coding', 0, 'code']) }} as status_reason_code,
        {{ fhir_preferred_coding('resource', ['vaccineCode'], vaccine_code_systems, 'system') }} as vaccine_code_system,
        {{ fhir_preferred_coding('resource', ['vaccineCode'], vaccine_code_systems, 'code') }} as vaccine_code,
        {{ fhir_preferred_coding('resource', ['vaccineCode'], vaccine_code_systems, 'display') }} as vaccine_display,

        ---------- timestamps (raw text): occurrence[x] is a dateTime (occurrenceString is free text)
        {{ json_text('resource', ['occurrenceDateTime']) }} as occurrence_raw,
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
        case when {{ regex_full_match('raw_immunization_id', fhir_id_pattern()) }} then raw_immunization_id end as immunization_id,
        {{ fhir_reference('patient_reference', 'Patient', 'patient_id') }},
        {{ fhir_reference_id('encounter_reference', 'Encounter') }} as encounter_id,

        ---------- timestamps: the date is the source's local date, as sent
        {{ safe_cast_timestamptz('occurrence_raw') }} as occurred_at,
        {{ safe_cast_date('substr(occurrence_raw, 1, 10)') }} as occurrence_date,
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
        immunization_id,
        patient_id,
        encounter_id,

        ---------- conditional references (resolved in int_immunizations_deduplicated)
        patient_identifier_system,
        patient_identifier_value,

        ---------- codes
        immunization_status,
        status_reason_code,
        vaccine_code_system,
        vaccine_code,
        vaccine_display,

        ---------- timestamps
        occurred_at,
        occurrence_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_immunization_id,

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
