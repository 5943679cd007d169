-- ============================================================================
-- cdm_encounters
-- Common data model: one row per encounter (current version, every status)
-- of either EHR, with surrogate keys for the patient, practitioner, facility
-- and organization, is_completed from the encounter_statuses seed, and the
-- encounter category / acute care flag of its class from the encounter_classes
-- seed ('unknown' / false for a class code the seed lacks, flagged
-- UNKNOWN_CLASS in staging).
-- gold.fct_encounters is the completed subset.
-- ============================================================================

with

encounters as (

    select * from {{ ref('int_encounters_deduplicated') }}

),

statuses as (

    select code, is_completed from {{ ref('encounter_statuses') }}

),

classes as (

    select code, encounter_category, is_acute_care from {{ ref('encounter_classes') }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['encounters.source_system', 'encounters.encounter_id']) }} as encounter_key,
        {{ surrogate_key(['encounters.source_system', 'encounters.patient_id']) }} as patient_key,
        {{ optional_surrogate_key('encounters.practitioner_id', ['encounters.source_system', 'encounters.practitioner_id']) }} as practitioner_key,
        {{ optional_surrogate_key('encounters.location_id', ['encounters.source_system', 'encounters.location_id']) }} as facility_key,
        {{ optional_surrogate_key('encounters.organization_id', ['encounters.source_system', 'encounters.organization_id']) }} as organization_key,

        ---------- source ids
        encounters.source_system,
        encounters.encounter_id,
        encounters.patient_id,
        encounters.practitioner_id,
        encounters.location_id,
        encounters.organization_id,

        ---------- codes
        encounters.encounter_status,
        coalesce(statuses.is_completed, false) as is_completed,
        encounters.encounter_class_code,
        coalesce(classes.encounter_category, 'unknown') as encounter_category,
        coalesce(classes.is_acute_care, false) as is_acute_care,
        encounters.encounter_type_code,
        encounters.encounter_type_display,

        ---------- timestamps and dates
        encounters.period_start_at,
        encounters.period_end_at,
        encounters.period_start_date,

        ---------- measures (elapsed time, measured in UTC so DST cannot skew it)
        cast({{ dbt.datediff(to_utc_timestamp('encounters.period_start_at'), to_utc_timestamp('encounters.period_end_at'), 'minute') }}
            as {{ dbt.type_bigint() }}) as length_of_stay_minutes,

        ---------- timestamps
        encounters.source_last_updated_at,

        ---------- data quality
        encounters._dq_flags

    from encounters
    left join statuses
        on statuses.code = encounters.encounter_status
    left join classes
        on classes.code = encounters.encounter_class_code

)

select * from final
