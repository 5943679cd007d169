-- ============================================================================
-- fct_patient_allergies
-- One row per allergy / intolerance (current version) of either EHR: the
-- substance as a SNOMED CT or RxNorm code with its system, type, category,
-- criticality, clinical and verification status and the day it was
-- recorded. Allergies the source retracted (refuted, entered-in-error) are
-- left out, as for diagnoses; count current allergies with is_active, and
-- leave out is_no_known_allergy rows (a "no known allergy" statement).
--
-- Keys: patient_key is the dim_patient VERSION valid when the allergy was
-- recorded (valid_from <= recorded_at < valid_to; null without a recorded
-- time or a patient version), patient_durable_key the patient across
-- versions. No source ids: keys are keyed hashes (HMAC).
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='allergy_key') }}

with

allergies as (

    select * from {{ ref('cdm_allergy_intolerances') }}
    where is_countable

),

patient_versions as (

    select patient_key, patient_durable_key, valid_from, valid_to
    from {{ ref('dim_patient') }}

),

final as (

    select
        ---------- keys
        allergies.allergy_intolerance_key as allergy_key,
        patient_versions.patient_key,
        allergies.patient_key as patient_durable_key,
        allergies.encounter_key,
        {{ date_key('allergies.recorded_date') }} as recorded_date_key,
        allergies.source_system,

        ---------- codes
        allergies.code_system,
        allergies.allergy_code,
        allergies.allergy_display,
        allergies.allergy_type,
        allergies.allergy_category,
        allergies.criticality,
        allergies.clinical_status_code,
        allergies.verification_status_code,
        allergies.is_active,
        allergies.is_no_known_allergy,

        ---------- timestamps and dates
        allergies.recorded_at,
        allergies.recorded_date,

        ---------- data quality
        allergies._dq_flags as dq_flags

    from allergies
    left join patient_versions
        on patient_versions.patient_durable_key = allergies.patient_key
        and allergies.recorded_at >= patient_versions.valid_from
        and allergies.recorded_at < patient_versions.valid_to

)

select * from final
