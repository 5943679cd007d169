-- ============================================================================
-- fct_encounters
-- One row per completed encounter (current version, status 'finished'),
-- across both EHRs. Star-schema fact: surrogate keys, codes, times and
-- length of stay. No direct identifiers (no names, MRNs, birth dates or
-- raw source ids) -- keys are md5 of source_system + source id.
-- ============================================================================

with

completed as (

    select * from {{ ref('int_encounters_completed') }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['source_system', 'encounter_id']) }} as encounter_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,
        {{ optional_surrogate_key('practitioner_id', ['source_system', 'practitioner_id']) }} as practitioner_key,
        {{ optional_surrogate_key('location_id', ['source_system', 'location_id']) }} as facility_key,
        {{ optional_surrogate_key('organization_id', ['source_system', 'organization_id']) }} as organization_key,
        source_system,

        ---------- codes
        encounter_class_code,
        encounter_type_code,

        ---------- timestamps and dates
        period_start_at as started_at,
        period_end_at as ended_at,
        period_start_date as encounter_date,

        ---------- measures (elapsed time, measured in UTC so DST cannot skew it)
        cast({{ dbt.datediff(to_utc_timestamp('period_start_at'), to_utc_timestamp('period_end_at'), 'minute') }}
            as {{ dbt.type_bigint() }}) as length_of_stay_minutes,

        ---------- data quality
        _dq_flags as dq_flags

    from completed

)

select * from final
