-- ============================================================================
-- int_practitioners_deduplicated
-- One row per (source_system, practitioner_id) among USABLE staged Practitioner
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
    unique_key=['source_system', 'practitioner_id'],
    indexes=[{'columns': ['source_system', 'practitioner_id'], 'unique': true}, load_id_index()],
) }}

with

usable as (

    select staged.*
    from {{ ref('stg_ehr__practitioners') }} as staged
    {{ touched_keys_join('staged', ref('stg_ehr__practitioners'), ['source_system', 'practitioner_id']) }}
    where staged.quarantine_reason is null

),

ranked as (

    select
        usable.*,
        {{ latest_version_rank(['source_system', 'practitioner_id']) }} as version_rank,
        {{ versions_seen(['source_system', 'practitioner_id']) }} as versions_seen
    from usable

),

final as (

    select
        ---------- source
        source_system,

        ---------- ids
        practitioner_id,
        npi,

        ---------- names (clinician, not patient PHI)
        family_name,
        given_name,
        name_prefix,

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
