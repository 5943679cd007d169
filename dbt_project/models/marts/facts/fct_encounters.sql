-- ============================================================================
-- fct_encounters
-- One row per completed encounter (current version, status 'finished'),
-- across both EHRs. Star-schema fact: surrogate keys, codes, times, length of
-- stay and counts. No direct identifiers (no names, MRNs, birth dates or raw
-- source ids) -- keys are keyed hashes (HMAC) of source_system + source id.
--
-- Point-in-time keys: patient_key / provider_key are the dimension VERSION
-- valid when the encounter started,
--     dim.valid_from <= started_at < dim.valid_to
-- (windows are contiguous from 1900 to 9999, so exactly one version matches;
-- patient_durable_key / practitioner_key identify the person across versions).
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='encounter_key') }}

with

encounters as (

    select * from {{ ref('cdm_encounters') }}
    where is_completed

),

patients as (

    select patient_key, birth_date from {{ ref('cdm_patients') }}

),

patient_versions as (

    select patient_key, patient_durable_key, valid_from, valid_to
    from {{ ref('dim_patient') }}

),

provider_versions as (

    select provider_key, provider_durable_key, valid_from, valid_to
    from {{ ref('dim_provider') }}

),

diagnoses as (

    select
        encounter_key,
        count(*) as num_diagnoses,
        max(case when is_primary then diagnosis_key end) as primary_diagnosis_key,
        max(case when is_primary then code_system end) as primary_diagnosis_code_system
    from {{ ref('bridge_encounter_diagnosis') }}
    group by encounter_key

),

procedures as (

    select
        encounter_key,
        sum(procedure_quantity) as num_procedures
    from {{ ref('bridge_encounter_procedure') }}
    group by encounter_key

),

reports as (

    select
        encounter_key,
        count(*) as num_reports
    from {{ ref('cdm_diagnostic_reports') }}
    where is_issued and encounter_key is not null
    group by encounter_key

),

final as (

    select
        ---------- keys
        encounters.encounter_key,
        patient_versions.patient_key,
        encounters.patient_key as patient_durable_key,
        provider_versions.provider_key,
        encounters.practitioner_key,
        encounters.facility_key,
        encounters.organization_key,
        {{ date_key('encounters.period_start_date') }} as date_key,
        diagnoses.primary_diagnosis_key,
        diagnoses.primary_diagnosis_code_system,
        encounters.source_system,

        ---------- codes
        encounters.encounter_class_code,
        encounters.encounter_category,
        encounters.is_acute_care,
        encounters.encounter_type_code,

        ---------- timestamps and dates
        encounters.period_start_at as started_at,
        encounters.period_end_at as ended_at,
        encounters.period_start_date as encounter_date,

        ---------- patient context (no birth date: only the band)
        {{ age_band(age_in_years('patients.birth_date', 'encounters.period_start_date')) }} as age_band_at_encounter,

        ---------- measures
        encounters.length_of_stay_minutes,
        cast(round(cast(encounters.length_of_stay_minutes as {{ dbt.type_numeric() }}) / 60, 2) as {{ dbt.type_numeric() }}) as length_of_stay_hours,
        cast(coalesce(diagnoses.num_diagnoses, 0) as {{ dbt.type_int() }}) as num_diagnoses,
        cast(coalesce(procedures.num_procedures, 0) as {{ dbt.type_int() }}) as num_procedures,
        cast(coalesce(reports.num_reports, 0) as {{ dbt.type_int() }}) as num_reports,
        coalesce(reports.num_reports, 0) > 0 as has_report,

        ---------- data quality
        encounters._dq_flags as dq_flags

    from encounters
    left join patients
        on patients.patient_key = encounters.patient_key
    left join patient_versions
        on patient_versions.patient_durable_key = encounters.patient_key
        and encounters.period_start_at >= patient_versions.valid_from
        and encounters.period_start_at < patient_versions.valid_to
    left join provider_versions
        on provider_versions.provider_durable_key = encounters.practitioner_key
        and encounters.period_start_at >= provider_versions.valid_from
        and encounters.period_start_at < provider_versions.valid_to
    left join diagnoses
        on diagnoses.encounter_key = encounters.encounter_key
    left join procedures
        on procedures.encounter_key = encounters.encounter_key
    left join reports
        on reports.encounter_key = encounters.encounter_key

)

select * from final
