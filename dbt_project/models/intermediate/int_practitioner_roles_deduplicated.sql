-- ============================================================================
-- int_practitioner_roles_deduplicated
-- One row per (source_system, practitioner_role_id) among USABLE staged PractitionerRole
-- rows (quarantine_reason is null): the current version, picked by
-- latest_version_rank (latest meta.lastUpdated, then later batch, later line).
-- versions_seen = usable staged rows of the key.
-- ============================================================================

with

usable as (

    select * from {{ ref('stg_ehr__practitioner_roles') }}
    where quarantine_reason is null

),

ranked as (

    select
        usable.*,
        {{ latest_version_rank(['source_system', 'practitioner_role_id']) }} as version_rank,
        {{ versions_seen(['source_system', 'practitioner_role_id']) }} as versions_seen
    from usable

),

final as (

    select
        ---------- source
        source_system,

        ---------- ids
        practitioner_role_id,
        practitioner_id,
        organization_id,
        location_id,

        ---------- codes
        is_active,
        specialty_system,
        specialty_code,
        specialty_display,

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
