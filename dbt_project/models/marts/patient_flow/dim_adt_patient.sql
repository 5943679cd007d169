-- ============================================================================
-- dim_adt_patient
-- SCD Type 2 dimension of the ADT feed's patients: one row per version of
-- snapshots.snap_adt_patients. Not dim_patient (the EHR patients): the ADT
-- feed has its own patient ids, with no link to the EHRs'. No direct
-- identifiers: keys, sex, age band and insurance type only.
--   adt_patient_key          the version (the snapshot's dbt_scd_id)
--   adt_patient_durable_key  the patient across versions (keyed hash of 'adt'|id)
--   valid_from / valid_to    [valid_from, valid_to) as timestamptz; the
--     first version reaches back to var scd2_floor_valid_from and the current
--     one ends at var scd2_current_valid_to (same rule as dim_patient), so
--     every stay finds exactly one version at its admission.
-- Inferred members: a patient with stays but no snapshot version (the
-- snapshot step has not run since they arrived) gets one row valid for all
-- time, is_inferred = true, attributes 'unknown'.
-- ============================================================================

with

versions as (

    select * from {{ ref('snap_adt_patients') }}

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
        numbered.dbt_scd_id as adt_patient_key,
        numbered.patient_key as adt_patient_durable_key,

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
        case numbered.gender
            when 'M' then 'male'
            when 'F' then 'female'
            else 'unknown'
        end as sex,
        coalesce(numbered.age_band, 'unknown') as age_band,
        coalesce(numbered.insurance_type, 'unknown') as insurance_type,
        false as is_inferred

    from numbered

),

stay_patients as (

    select distinct patient_key
    from {{ ref('int_adt_stays') }}
    where patient_key is not null

),

inferred as (

    select
        ---------- keys
        {{ surrogate_key(['stay_patients.patient_key', "'inferred'"]) }} as adt_patient_key,
        stay_patients.patient_key as adt_patient_durable_key,

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
        true as is_inferred

    from stay_patients
    left join (select distinct patient_key from versions) as snapshotted_patients
        on snapshotted_patients.patient_key = stay_patients.patient_key
    where snapshotted_patients.patient_key is null

),

final as (

    select * from snapshotted
    union all
    select * from inferred

)

select * from final
