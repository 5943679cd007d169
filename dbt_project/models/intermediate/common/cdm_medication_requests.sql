-- ============================================================================
-- cdm_medication_requests
-- Common data model: one row per medication order (MedicationRequest) of
-- either EHR, keyed to its patient, encounter and requesting practitioner.
-- The drug is the RxNorm code when the order carries one (medication_code_
-- system says which system the code is from; null when the order names its
-- drug only by a Medication reference). is_countable is false for orders
-- entered in error. The dosage text is free text and never leaves silver.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'medication_request_id'],
    indexes=[{'columns': ['source_system', 'medication_request_id'], 'unique': true}, load_id_index()],
) }}

with

requests as (

    -- incremental: the keys int_medication_requests_deduplicated recomputed in the same build
    select deduplicated.*
    from {{ ref('int_medication_requests_deduplicated') }} as deduplicated
    {{ touched_keys_join('deduplicated', ref('stg_ehr__medication_requests'), ['source_system', 'medication_request_id'], ehr_references('medication_requests')) }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['source_system', 'medication_request_id']) }} as medication_request_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,
        {{ optional_surrogate_key('encounter_id', ['source_system', 'encounter_id']) }} as encounter_key,
        {{ optional_surrogate_key('requester_practitioner_id', ['source_system', 'requester_practitioner_id']) }} as practitioner_key,

        ---------- source ids
        source_system,
        medication_request_id,
        patient_id,
        encounter_id,
        requester_practitioner_id,

        ---------- codes
        request_status,
        request_intent,
        coalesce(request_status, '') <> 'entered-in-error' as is_countable,
        medication_code_system,
        medication_code,
        medication_display,
        coalesce(medication_code_system = 'http://www.nlm.nih.gov/research/umls/rxnorm', false) as is_rxnorm_coded,

        ---------- free text (silver only)
        dosage_text,

        ---------- timestamps
        authored_at,
        authored_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,

        ---------- lineage: the winning version's load (the incremental watermark)
        _dlt_load_id

    from requests

)

select * from final
