-- ============================================================================
-- int_organizations_deduplicated
-- One row per (source_system, organization_id) among USABLE staged Organization
-- rows (quarantine_reason is null): the current version, picked by
-- latest_version_rank (latest meta.lastUpdated, then later batch, later line).
-- versions_seen = usable staged rows of the key.
-- Incremental: each build recomputes, from the full staging history, the
-- keys that new loads touched and replaces them (delete+insert); see
-- macros/incremental/touched_keys.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'organization_id'],
    indexes=[{'columns': ['source_system', 'organization_id'], 'unique': true}, load_id_index()],
) }}

with

usable as (

    select staged.*
    from {{ ref('stg_ehr__organizations') }} as staged
    {{ touched_keys_join('staged', ref('stg_ehr__organizations'), ['source_system', 'organization_id']) }}
    where staged.quarantine_reason is null

),

ranked as (

    select
        usable.*,
        {{ latest_version_rank(['source_system', 'organization_id']) }} as version_rank,
        {{ versions_seen(['source_system', 'organization_id']) }} as versions_seen
    from usable

),

final as (

    select
        ---------- source
        source_system,

        ---------- ids
        organization_id,

        ---------- attributes
        organization_name,
        organization_type_code,
        organization_type_display,

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
