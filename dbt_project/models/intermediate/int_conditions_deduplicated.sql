-- ============================================================================
-- int_conditions_deduplicated
-- One row per (source_system, condition_id) among USABLE staged Condition
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
    unique_key=['source_system', 'condition_id'],
    indexes=[{'columns': ['source_system', 'condition_id'], 'unique': true}, load_id_index()],
    pre_hook="{{ carehouse.prefer_hash_joins() }}",
) }}

{% set references = carehouse.ehr_references('conditions') %}

with

usable as (

    select staged.*
    from {{ ref('stg_ehr__conditions') }} as staged
    {{ touched_keys_join('staged', ref('stg_ehr__conditions'), ['source_system', 'condition_id'], references) }}
    where staged.quarantine_reason is null

),

ranked as (

    select
        usable.*,
        {{ latest_version_rank(['source_system', 'condition_id']) }} as version_rank,
        {{ versions_seen(['source_system', 'condition_id']) }} as versions_seen
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
        condition_id,
        resolved_patient_id as patient_id,
        encounter_id,

        ---------- codes
        code_system,
        condition_code,
        condition_display,
        clinical_status_code,
        verification_status_code,

        ---------- dates
        recorded_at,
        recorded_date,

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
