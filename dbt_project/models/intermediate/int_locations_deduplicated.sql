-- ============================================================================
-- int_locations_deduplicated
-- One row per (source_system, location_id) among USABLE staged Location
-- rows (quarantine_reason is null): the current version, picked by
-- latest_version_rank (latest meta.lastUpdated, then later batch, later line).
-- versions_seen = usable staged rows of the key.
-- Incremental: each build recomputes, from the full staging history, the
-- keys that new loads touched or whose conditional references resolve
-- differently since, and replaces them (delete+insert); see
-- macros/incremental/touched_keys.sql.
-- ============================================================================

-- conditional-reference lookups: hash joins, whatever the fresh tables' estimates say
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'location_id'],
    indexes=[{'columns': ['source_system', 'location_id'], 'unique': true}, load_id_index()],
    pre_hook="{{ carehouse.prefer_hash_joins() }}",
) }}

{% set references = carehouse.ehr_references('locations') %}

with

usable as (

    select staged.*
    from {{ ref('stg_ehr__locations') }} as staged
    {{ touched_keys_join('staged', ref('stg_ehr__locations'), ['source_system', 'location_id'], references) }}
    where staged.quarantine_reason is null

),

ranked as (

    select
        usable.*,
        {{ latest_version_rank(['source_system', 'location_id']) }} as version_rank,
        {{ versions_seen(['source_system', 'location_id']) }} as versions_seen
    from usable

),

resolved as (

    -- conditional references ('Practitioner?identifier=s|v') resolved on the
    -- referenced resources' identifiers; an unresolved one is kept and flagged
    {{ resolve_references('ranked', references) }}

),

final as (

    select
        ---------- source
        source_system,

        ---------- ids
        location_id,
        resolved_managing_organization_id as managing_organization_id,

        ---------- attributes
        location_name,
        location_type_code,
        location_type_display,
        city,
        state,
        postal_code,

        ---------- timestamps
        source_last_updated_at,

        ---------- data quality
        resolved_dq_flags as _dq_flags,
        versions_seen,

        ---------- lineage of the winning version
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from resolved

)

select * from final
