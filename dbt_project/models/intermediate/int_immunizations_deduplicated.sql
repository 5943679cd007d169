-- ============================================================================
-- int_immunizations_deduplicated
-- One row per (source_system, immunization_id) among USABLE staged Immunization
-- rows (quarantine_reason is null): the current version, picked by
-- latest_version_rank (latest meta.lastUpdated, then later batch, later line).
-- versions_seen = usable staged rows of the key.
-- ============================================================================

with

usable as (

    select * from {{ ref('stg_ehr__immunizations') }}
    where quarantine_reason is null

),

ranked as (

    select
        usable.*,
        {{ latest_version_rank(['source_system', 'immunization_id']) }} as version_rank,
        {{ versions_seen(['source_system', 'immunization_id']) }} as versions_seen
    from usable

),

final as (

    select
        ---------- source
        source_system,

        ---------- ids
        immunization_id,
        patient_id,
        encounter_id,

        ---------- codes
        immunization_status,
        status_reason_code,
        vaccine_code_system,
        vaccine_code,
        vaccine_display,

        ---------- dates
        occurred_at,
        occurrence_date,

        ---------- timestamps
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
