-- ============================================================================
-- dim_provider
-- SCD Type 2 provider (practitioner) dimension: one row per version of the
-- practitioner snapshot (snapshots.snap_practitioners). No names, no NPI:
-- keys, department (specialty) and place of work only.
--   provider_key          the version (the snapshot's dbt_scd_id)
--   provider_durable_key  the practitioner across versions (keyed hash of source|id)
--   valid_from/valid_to   as in dim_patient: [valid_from, valid_to), the first
--     version extended back to var scd2_floor_valid_from, the current one
--     ending at var scd2_current_valid_to; recorded_valid_from keeps the
--     snapshot's own start.
-- Inferred members: a practitioner referenced by a completed encounter but
-- never received usably gets one row valid for all time, is_inferred = true.
-- ============================================================================

with

versions as (

    select * from {{ ref('snap_practitioners') }}

),

numbered as (

    select
        versions.*,
        row_number() over (partition by versions.practitioner_key order by versions.dbt_valid_from) as version_number
    from versions

),

snapshotted as (

    select
        ---------- keys
        dbt_scd_id as provider_key,
        practitioner_key as provider_durable_key,
        source_system,

        ---------- validity
        cast(version_number as {{ dbt.type_int() }}) as version_number,
        case
            when version_number = 1 then {{ utc_timestamp_literal(var('scd2_floor_valid_from')) }}
            else {{ from_utc_timestamp('dbt_valid_from') }}
        end as valid_from,
        coalesce(
            {{ from_utc_timestamp('dbt_valid_to') }},
            {{ utc_timestamp_literal(var('scd2_current_valid_to')) }}
        ) as valid_to,
        dbt_valid_to is null as is_current,
        {{ from_utc_timestamp('dbt_valid_from') }} as recorded_valid_from,

        ---------- department and place of work
        specialty_code,
        specialty_display,
        facility_key,
        organization_key,
        false as is_inferred

    from numbered

),

encounter_practitioners as (

    select distinct practitioner_key, source_system
    from {{ ref('cdm_encounters') }}
    where is_completed and practitioner_key is not null

),

inferred as (

    select
        ---------- keys
        {{ surrogate_key(['encounter_practitioners.practitioner_key', "'inferred'"]) }} as provider_key,
        encounter_practitioners.practitioner_key as provider_durable_key,
        encounter_practitioners.source_system,

        ---------- validity: all of time
        cast(1 as {{ dbt.type_int() }}) as version_number,
        {{ utc_timestamp_literal(var('scd2_floor_valid_from')) }} as valid_from,
        {{ utc_timestamp_literal(var('scd2_current_valid_to')) }} as valid_to,
        true as is_current,
        {{ from_utc_timestamp('cast(null as ' ~ dbt.type_timestamp() ~ ')') }} as recorded_valid_from,

        ---------- department and place of work: unknown
        cast(null as {{ dbt.type_string() }}) as specialty_code,
        'Unknown' as specialty_display,
        cast(null as {{ dbt.type_string() }}) as facility_key,
        cast(null as {{ dbt.type_string() }}) as organization_key,
        true as is_inferred

    from encounter_practitioners
    left join (select distinct practitioner_key from versions) as snapshotted_practitioners
        on snapshotted_practitioners.practitioner_key = encounter_practitioners.practitioner_key
    where snapshotted_practitioners.practitioner_key is null

),

final as (

    select * from snapshotted
    union all
    select * from inferred

)

select * from final
