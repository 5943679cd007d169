-- ============================================================================
-- stg_ehr__allergy_intolerances
-- One row per bronze AllergyIntolerance line (US Core): the substance as a
-- SNOMED CT or RxNorm code (the SNOMED CT coding, else the RxNorm one, else
-- coding[0]; its system kept), clinical and verification status, type, the
-- first category, criticality, recordedDate and the patient / encounter ids
-- (a conditional patient reference is resolved in the int model).
-- _dq_flags and quarantine_reason; never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'allergy_intolerance_id']}],
) }}

{#- the coding a substance is read by, in this order wherever it is in code.coding[], else the first -#}
{% set code_systems = ['http://snomed.info/sct', 'http://www.nlm.nih.gov/research/umls/rxnorm'] %}
{% set clinical_statuses = ['active', 'inactive', 'resolved'] %}
{% set verification_statuses = ['unconfirmed', 'confirmed', 'refuted', 'entered-in-error'] %}

{% set rules =
    fhir_identity_rules('AllergyIntolerance', 'raw_allergy_intolerance_id')
    + fhir_reference_rules('patient', 'patient_reference', 'patient_id', required=true, conditional=true)
    + [
        {'name': 'missing_code', 'quarantine': true,
         'when': "allergy_code is null"},
    ]
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_last_updated', 'quarantine': false,
         'when': "last_updated_raw is null"},
        {'name': 'unexpected_code_system', 'quarantine': false,
         'when': "coalesce(code_system, '') not in ('" ~ code_systems | join("', '") ~ "')"},
        {'name': 'unexpected_clinical_status', 'quarantine': false,
         'when': "clinical_status_code is not null and clinical_status_code not in ('" ~ clinical_statuses | join("', '") ~ "')"},
        {'name': 'unexpected_verification_status', 'quarantine': false,
         'when': "verification_status_code is not null and verification_status_code not in ('" ~ verification_statuses | join("', '") ~ "')"},
    ]
    + fhir_reference_rules('encounter', 'encounter_reference', 'encounter_id')
    + fhir_datetime_rules('recorded_date', 'recorded_raw', 'recorded_at')
%}

with

source as (

    select * from {{ source('ehr', 'ehr__allergyintolerance') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_allergy_intolerance_id,
        {{ json_text('resource', ['patient', 'reference']) }} as patient_reference,
        {{ json_text('resource', ['encounter', 'reference']) }} as encounter_reference,

        ---------- codes (the preferred coding, its system kept)
        {{ fhir_preferred_coding('resource', ['code'], code_systems, 'system') }} as code_system,
        {{ fhir_preferred_coding('resource', ['code'], code_systems, 'code') }} as allergy_code,
        {{ fhir_preferred_coding('resource', ['code'], code_systems, 'display') }} as allergy_display,
        {{ json_text('resource', ['clinicalStatus', 'coding', 0, 'code']) }} as clinical_status_code,
        {{ json_text('resource', ['verificationStatus', 'coding', 0, 'code']) }} as verification_status_code,
        {{ json_text('resource', ['type']) }} as allergy_type,
        {{ json_text('resource', ['category', 0]) }} as allergy_category,
        {{ json_text('resource', ['criticality']) }} as criticality,

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
        case when {{ regex_full_match('raw_allergy_intolerance_id', fhir_id_pattern()) }} then raw_allergy_intolerance_id end as allergy_intolerance_id,
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
        allergy_intolerance_id,
        patient_id,
        encounter_id,

        ---------- conditional references (resolved in int_allergy_intolerances_deduplicated)
        patient_identifier_system,
        patient_identifier_value,

        ---------- codes
        code_system,
        allergy_code,
        allergy_display,
        clinical_status_code,
        verification_status_code,
        allergy_type,
        allergy_category,
        criticality,

        ---------- timestamps
        recorded_at,
        recorded_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_allergy_intolerance_id,

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
