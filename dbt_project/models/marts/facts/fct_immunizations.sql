-- ============================================================================
-- fct_immunizations
-- One row per immunization record (current version) of either EHR: the
-- vaccine as a CVX code, status (completed, or not-done with the reason) and
-- the day of the dose, with the patient's age band on that day. Records
-- entered in error are left out; count doses given with is_administered.
--
-- Keys as fct_encounters carries them: patient_key is the dim_patient
-- VERSION valid when the dose was given (valid_from <= occurred_at <
-- valid_to), patient_durable_key the patient across versions; facility_key
-- is the encounter's facility. No birth date, no source ids.
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='immunization_key') }}

with

immunizations as (

    select * from {{ ref('cdm_immunizations') }}
    where is_countable

),

patients as (

    select patient_key, birth_date from {{ ref('cdm_patients') }}

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
        immunizations.immunization_key,
        patient_versions.patient_key,
        immunizations.patient_key as patient_durable_key,
        immunizations.encounter_key,
        encounters.facility_key,
        {{ date_key('immunizations.occurrence_date') }} as occurrence_date_key,
        immunizations.source_system,

        ---------- codes
        immunizations.immunization_status,
        immunizations.is_administered,
        immunizations.status_reason_code,
        immunizations.vaccine_code_system,
        immunizations.vaccine_code,
        immunizations.vaccine_display,

        ---------- timestamps and dates
        immunizations.occurred_at,
        immunizations.occurrence_date,

        ---------- patient context (no birth date: only the band)
        {{ age_band(age_in_years('patients.birth_date', 'immunizations.occurrence_date')) }} as age_band_at_vaccination,

        ---------- data quality
        immunizations._dq_flags as dq_flags

    from immunizations
    left join patients
        on patients.patient_key = immunizations.patient_key
    left join encounters
        on encounters.encounter_key = immunizations.encounter_key
    left join patient_versions
        on patient_versions.patient_durable_key = immunizations.patient_key
        and immunizations.occurred_at >= patient_versions.valid_from
        and immunizations.occurred_at < patient_versions.valid_to

)

select * from final
