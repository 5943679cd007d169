-- ============================================================================
-- fct_patient_flow
-- One row per hospital stay of the ADT feed (admission paired with its
-- discharge, transfers counted), open stays included. Star-schema fact: no
-- direct identifiers (no patient or stay ids, no birth dates) -- keys are
-- keyed-hash (HMAC) surrogates.
--   adt_patient_key   the dim_adt_patient VERSION valid at admission
--                     (valid_from <= admitted_at < valid_to; windows are
--                     contiguous from 1900 to 9999, so one version matches)
--   department_key    where the patient is now / was discharged from;
--   admitting_department_key  where the ADMISSION placed them
--   date keys         calendar days in the hospitals' time zone
--                     (macro hospital_time_zone), keys of gold.dim_date
--   diagnosis_key     gold.dim_diagnosis key of the ICD-10-CM code; null
--                     when the code is not in dim_diagnosis (diagnosis_code
--                     keeps the code as sent)
--   vitals            those sent with the admission (flattened)
-- ============================================================================

{%- set time_zone = hospital_time_zone() %}

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='stay_key') }}

with

stays as (

    select * from {{ ref('int_adt_stays') }}

),

patient_versions as (

    select adt_patient_key, adt_patient_durable_key, valid_from, valid_to
    from {{ ref('dim_adt_patient') }}

),

diagnoses as (

    select diagnosis_key, icd10_code
    from {{ ref('dim_diagnosis') }}

),

final as (

    select
        ---------- keys
        stays.stay_key,
        patient_versions.adt_patient_key,
        stays.patient_key as adt_patient_durable_key,
        {{ adt_department_key('stays.hospital_id', 'stays.current_department') }} as department_key,
        {{ adt_department_key('stays.hospital_id', 'stays.admitting_department') }} as admitting_department_key,
        {{ date_key('cast(' ~ to_local_timestamp('stays.admitted_at', time_zone) ~ ' as date)') }} as admission_date_key,
        {{ date_key('cast(' ~ to_local_timestamp('stays.discharged_at', time_zone) ~ ' as date)') }} as discharge_date_key,
        diagnoses.diagnosis_key,

        ---------- codes
        stays.diagnosis_code,
        stays.admission_priority,
        {{ age_band('stays.age') }} as age_band_at_admission,

        ---------- timestamps
        stays.admitted_at,
        stays.discharged_at,

        ---------- measures
        cast(round(cast(stays.length_of_stay_seconds as {{ dbt.type_numeric() }}) / 3600, 4) as {{ dbt.type_numeric() }}) as length_of_stay_hours,
        stays.transfer_count,
        stays.is_open,

        ---------- vitals at admission
        stays.heart_rate,
        stays.bp_systolic,
        stays.bp_diastolic,
        stays.o2_saturation,
        stays.temperature_c,

        ---------- data quality
        stays._dq_flags as dq_flags

    from stays
    left join patient_versions
        on patient_versions.adt_patient_durable_key = stays.patient_key
        and stays.admitted_at >= patient_versions.valid_from
        and stays.admitted_at < patient_versions.valid_to
    left join diagnoses
        on diagnoses.icd10_code = stays.diagnosis_code

)

select * from final
