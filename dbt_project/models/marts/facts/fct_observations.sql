-- ============================================================================
-- fct_observations
-- One row per observed value (silver cdm_observations: an observation's own
-- value, or one component of a panel such as blood pressure) of either EHR,
-- vital signs and laboratory results: LOINC code, numeric value and UCUM
-- unit, reference range and the abnormal flag. Observations the source
-- retracted or never made (entered-in-error, cancelled) are left out.
--
-- Keys as fct_encounters carries them: patient_key is the dim_patient
-- VERSION valid when the observation was made (valid_from <= effective_at <
-- valid_to; null without an effective time or a patient version),
-- patient_durable_key the patient across versions; facility_key is the
-- encounter's facility. No source ids: keys are keyed hashes (HMAC).
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='observation_key') }}

with

observations as (

    select * from {{ ref('cdm_observations') }}
    where is_countable

),

encounters as (

    select encounter_key, facility_key from {{ ref('cdm_encounters') }}

),

patient_versions as (

    select patient_key, patient_durable_key, valid_from, valid_to
    from {{ ref('dim_patient') }}

),

final as (

    select
        ---------- keys
        observations.observation_key,
        observations.observation_resource_key,
        patient_versions.patient_key,
        observations.patient_key as patient_durable_key,
        observations.encounter_key,
        encounters.facility_key,
        {{ date_key('observations.effective_date') }} as effective_date_key,
        observations.source_system,

        ---------- codes
        observations.observation_status,
        observations.category_code,
        observations.observation_code_system,
        observations.observation_code,
        observations.observation_display,
        observations.panel_code,
        observations.interpretation_code,

        ---------- value, unit and reference range
        cast(observations.value_numeric as {{ dbt.type_numeric() }}) as value_numeric,
        observations.value_comparator,
        observations.value_unit,
        observations.value_unit_code,
        observations.value_code,
        observations.value_display,
        cast(observations.reference_range_low as {{ dbt.type_numeric() }}) as reference_range_low,
        cast(observations.reference_range_high as {{ dbt.type_numeric() }}) as reference_range_high,

        ---------- abnormal flag
        observations.is_abnormal,
        observations.abnormal_direction,
        observations.abnormal_flag_source,

        ---------- timestamps and dates
        observations.effective_at,
        observations.effective_date,

        ---------- data quality
        observations._dq_flags as dq_flags

    from observations
    left join encounters
        on encounters.encounter_key = observations.encounter_key
    left join patient_versions
        on patient_versions.patient_durable_key = observations.patient_key
        and observations.effective_at >= patient_versions.valid_from
        and observations.effective_at < patient_versions.valid_to

)

select * from final
