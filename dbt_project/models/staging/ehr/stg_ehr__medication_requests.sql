-- ============================================================================
-- stg_ehr__medication_requests
-- One row per bronze MedicationRequest line (US Core): the medication as an
-- RxNorm code (the RxNorm coding of medicationCodeableConcept when it has
-- several), status, intent, authoredOn, patient / encounter / requester ids
-- (a conditional requester, 'Practitioner?identifier=<NPI system>|<npi>' as
-- US Core servers send it, and a conditional patient reference are resolved
-- in the int model) and the free-text dosage (silver only). An order that names its drug only
-- by medicationReference (a Medication resource carehouse does not model) is
-- kept with a null code and flagged. _dq_flags and quarantine_reason; never
-- filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'medication_request_id']}],
) }}

{#- the coding a drug is read by: RxNorm wherever it is in medicationCodeableConcept.coding[], else the first -#}
{% set medication_code_systems = ['http://www.nlm.nih.gov/research/umls/rxnorm'] %}

{% set request_statuses = ['active', 'on-hold', 'cancelled', 'completed', 'entered-in-error',
                           'stopped', 'draft', 'unknown'] %}
{% set request_intents = ['proposal', 'plan', 'order', 'original-order', 'reflex-order',
                          'filler-order', 'instance-order', 'option'] %}

{% set rules =
    fhir_identity_rules('MedicationRequest', 'raw_medication_request_id')
    + fhir_reference_rules('patient', 'patient_reference', 'patient_id', required=true, conditional=true)
    + [
        {'name': 'missing_medication', 'quarantine': true,
         'when': "medication_code is null and medication_reference is null"},
    ]
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_last_updated', 'quarantine': false,
         'when': "last_updated_raw is null"},
        {'name': 'unexpected_status', 'quarantine': false,
         'when': "request_status is null or request_status not in ('" ~ request_statuses | join("', '") ~ "')"},
        {'name': 'unexpected_intent', 'quarantine': false,
         'when': "request_intent is null or request_intent not in ('" ~ request_intents | join("', '") ~ "')"},
        {'name': 'medication_by_reference_only', 'quarantine': false,
         'when': "medication_code is null and medication_reference is not null"},
        {'name': 'non_rxnorm_code_system', 'quarantine': false,
         'when': "medication_code is not null and coalesce(medication_code_system, '') <> 'http://www.nlm.nih.gov/research/umls/rxnorm'"},
    ]
    + fhir_reference_rules('encounter', 'encounter_reference', 'encounter_id')
    + fhir_reference_rules('requester', 'requester_reference', 'requester_practitioner_id', conditional=true)
    + fhir_datetime_rules('authored_on', 'authored_raw', 'authored_at', required=true)
%}

with

source as (

    select * from {{ source('ehr', 'ehr__medicationrequest') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_medication_request_id,
        {{ json_text('resource', ['subject', 'reference']) }} as patient_reference,
        {{ json_text('resource', ['encounter', 'reference']) }} as encounter_reference,
        {{ json_text('resource', ['requester', 'reference']) }} as requester_reference,
        {{ json_text('resource', ['medicationReference', 'reference']) }} as medication_reference,

        ---------- codes
        {{ json_text('resource', ['status']) }} as request_status,
        {{ json_text('resource', ['intent']) }} as request_intent,
        {{ fhir_preferred_coding('resource', ['medicationCodeableConcept'], medication_code_systems, 'system') }} as medication_code_system,
        {{ fhir_preferred_coding('resource', ['medicationCodeableConcept'], medication_code_systems, 'code') }} as medication_code,
        {{ fhir_preferred_coding('resource', ['medicationCodeableConcept'], medication_code_systems, 'display') }} as medication_display,

        ---------- free text (silver only)
        {{ json_text('resource', ['dosageInstruction', 0, 'text']) }} as dosage_text,

        ---------- timestamps (raw text)
        {{ json_text('resource', ['authoredOn']) }} as authored_raw,
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
        case when {{ regex_full_match('raw_medication_request_id', fhir_id_pattern()) }} then raw_medication_request_id end as medication_request_id,
        {{ fhir_reference('patient_reference', 'Patient', 'patient_id') }},
        {{ fhir_reference_id('encounter_reference', 'Encounter') }} as encounter_id,
        {{ fhir_reference('requester_reference', 'Practitioner', 'requester_practitioner_id') }},

        ---------- timestamps: authoredOn is a FHIR dateTime (a bare date is allowed)
        {{ safe_cast_timestamptz('authored_raw') }} as authored_at,
        {{ safe_cast_date('substr(authored_raw, 1, 10)') }} as authored_date,
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
        medication_request_id,
        patient_id,
        encounter_id,
        requester_practitioner_id,

        ---------- conditional references (resolved in int_medication_requests_deduplicated)
        patient_identifier_system,
        patient_identifier_value,
        requester_practitioner_identifier_system,
        requester_practitioner_identifier_value,

        ---------- codes
        request_status,
        request_intent,
        medication_code_system,
        medication_code,
        medication_display,
        medication_reference,

        ---------- free text (silver only)
        dosage_text,

        ---------- timestamps
        authored_at,
        authored_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_medication_request_id,

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
