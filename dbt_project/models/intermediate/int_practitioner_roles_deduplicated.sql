-- ============================================================================
-- int_practitioner_roles_deduplicated
-- One row per (source_system, practitioner_role_id) among USABLE staged PractitionerRole
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
    unique_key=['source_system', 'practitioner_role_id'],
    indexes=[{'columns': ['source_system', 'practitioner_role_id'], 'unique': true}, load_id_index()],
    pre_hook="{{ carehouse.prefer_hash_joins() }}",
) }}

{% set references = carehouse.ehr_references('practitioner_roles') %}

with

usable as (

    select staged.*
    from {{ ref('stg_ehr__practitioner_roles') }} as staged
    {{ touched_keys_join('staged', ref('stg_ehr__practitioner_roles'), ['source_system', 'practitioner_role_id'], references) }}
    where staged.quarantine_reason is null

),

ranked as (

    select
        usable.*,
        {{ latest_version_rank(['source_system', 'practitioner_role_id']) }} as version_rank,
        {{ versions_seen(['source_system', 'practitioner_role_id']) }} as versions_seen
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
        practitioner_role_id,
        resolved_practitioner_id as practitioner_id,
        resolved_organization_id as organization_id,
        resolved_location_id as location_id,

        ---------- codes
        is_active,
        specialty_system,
        specialty_code,
        specialty_display,

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
