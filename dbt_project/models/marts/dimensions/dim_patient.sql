-- ============================================================================
-- dim_patient
-- SCD Type 2 patient dimension: one row per version of the patient snapshot
-- (snapshots.snap_patients). No direct identifiers: keys, sex, age band,
-- insurance type and state only.
--   patient_key          the version (the snapshot's dbt_scd_id)
--   patient_durable_key  the patient across versions (keyed hash of source|id)
--   valid_from/valid_to  [valid_from, valid_to) as timestamptz. The FIRST
--     version is extended back to var scd2_floor_valid_from (1900-01-01 UTC)
--     so facts dated before the first snapshot still resolve (Kimball); the
--     current version ends at var scd2_current_valid_to (9999-12-31 UTC).
--     recorded_valid_from keeps the snapshot's own start.
--   age_band             age at recorded_valid_from (the day the version was
--     observed to start), from the current birth date in silver (a birth
--     date correction is Type 1). Stable across builds; for age at a visit
--     use fct_encounters.age_band_at_encounter.
-- Inferred members: a patient whose completed encounters arrived but who has
-- no snapshot version (late or quarantined) gets one row valid for all time,
-- is_inferred = true, attributes 'unknown'.
-- ============================================================================

with

versions as (

    select * from {{ ref('snap_patients') }}

),

patients as (

    select patient_key, birth_date from {{ ref('cdm_patients') }}

),

numbered as (

    select
        versions.*,
        row_number() over (partition by versions.patient_key order by versions.dbt_valid_from) as version_number
    from versions

),

snapshotted as (

    select
        ---------- keys
        numbered.dbt_scd_id as patient_key,
        numbered.patient_key as patient_durable_key,
        numbered.source_system,

        ---------- validity
        cast(numbered.version_number as {{ dbt.type_int() }}) as version_number,
        case
            when numbered.version_number = 1 then {{ utc_timestamp_literal(var('scd2_floor_valid_from')) }}
            else {{ from_utc_timestamp('numbered.dbt_valid_from') }}
        end as valid_from,
        coalesce(
            {{ from_utc_timestamp('numbered.dbt_valid_to') }},
            {{ utc_timestamp_literal(var('scd2_current_valid_to')) }}
        ) as valid_to,
        numbered.dbt_valid_to is null as is_current,
        {{ from_utc_timestamp('numbered.dbt_valid_from') }} as recorded_valid_from,

        ---------- attributes
        case when numbered.gender in ('male', 'female', 'other') then numbered.gender else 'unknown' end as sex,
        {{ age_band(age_in_years('patients.birth_date', 'cast(numbered.dbt_valid_from as date)')) }} as age_band,
        coalesce(numbered.insurance_type_code, 'unknown') as insurance_type,
        numbered.state,
        numbered.primary_care_practitioner_key as primary_care_provider_durable_key,
        false as is_inferred

    from numbered
    left join patients
        on patients.patient_key = numbered.patient_key

),

encounter_patients as (

    select distinct patient_key, source_system
    from {{ ref('cdm_encounters') }}
    where is_completed

),

inferred as (

    select
        ---------- keys
        {{ surrogate_key(['encounter_patients.patient_key', "'inferred'"]) }} as patient_key,
        encounter_patients.patient_key as patient_durable_key,
        encounter_patients.source_system,

        ---------- validity: all of time
        cast(1 as {{ dbt.type_int() }}) as version_number,
        {{ utc_timestamp_literal(var('scd2_floor_valid_from')) }} as valid_from,
        {{ utc_timestamp_literal(var('scd2_current_valid_to')) }} as valid_to,
        true as is_current,
        {{ from_utc_timestamp('cast(null as ' ~ dbt.type_timestamp() ~ ')') }} as recorded_valid_from,

        ---------- attributes: unknown
        'unknown' as sex,
        'unknown' as age_band,
        'unknown' as insurance_type,
        cast(null as {{ dbt.type_string() }}) as state,
        cast(null as {{ dbt.type_string() }}) as primary_care_provider_durable_key,
        true as is_inferred

    from encounter_patients
    left join (select distinct patient_key from versions) as snapshotted_patients
        on snapshotted_patients.patient_key = encounter_patients.patient_key
    where snapshotted_patients.patient_key is null

),

final as (

    select * from snapshotted
    union all
    select * from inferred

)

select * from final
