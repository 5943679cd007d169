-- ============================================================================
-- int_encounters_deduplicated
-- One row per (source_system, encounter_id) among USABLE staged rows
-- (quarantine_reason is null). The same resource may be re-sent; the latest
-- meta.lastUpdated wins, ties broken by later batch_id, then later
-- line_number (then source_file, for determinism). A missing lastUpdated
-- loses to any dated version. versions_seen = usable staged rows of the key.
-- ============================================================================

with

usable as (

    select * from {{ ref('stg_ehr__encounters') }}
    where quarantine_reason is null

),

ranked as (

    select
        usable.*,
        {{ latest_version_rank(['source_system', 'encounter_id']) }} as version_rank,
        {{ versions_seen(['source_system', 'encounter_id']) }} as versions_seen
    from usable

),

final as (

    select
        ---------- ids
        source_system,
        encounter_id,
        patient_id,
        practitioner_id,
        organization_id,
        location_id,

        ---------- codes
        encounter_status,
        encounter_class_code,
        encounter_type_code,
        encounter_type_display,

        ---------- timestamps
        period_start_at,
        period_end_at,
        period_start_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        versions_seen,

        ---------- lineage of the winning version
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from ranked
    where version_rank = 1

)

select * from final
