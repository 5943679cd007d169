-- ============================================================================
-- int_patients_deduplicated
-- One row per (source_system, patient_id) among USABLE staged rows: the
-- latest meta.lastUpdated wins, ties broken by later batch_id, then later
-- line_number (then source_file). versions_seen = usable staged rows of the
-- key. patient_key is the same surrogate key the gold facts carry. PHI.
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
    unique_key=['source_system', 'patient_id'],
    indexes=[{'columns': ['source_system', 'patient_id'], 'unique': true}, load_id_index()],
    pre_hook="{{ carehouse.prefer_hash_joins() }}",
) }}

{% set references = carehouse.ehr_references('patients') %}

with

usable as (

    select staged.*
    from {{ ref('stg_ehr__patients') }} as staged
    {{ touched_keys_join('staged', ref('stg_ehr__patients'), ['source_system', 'patient_id'], references) }}
    where staged.quarantine_reason is null

),

ranked as (

    select
        usable.*,
        {{ latest_version_rank(['source_system', 'patient_id']) }} as version_rank,
        {{ versions_seen(['source_system', 'patient_id']) }} as versions_seen
    from usable

),

resolved as (

    -- conditional references ('Practitioner?identifier=s|v') resolved on the
    -- referenced resources' identifiers; an unresolved one is kept and flagged
    {{ resolve_references('ranked', references) }}

),

final as (

    select
        ---------- keys and ids
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,
        source_system,
        patient_id,
        mrn,
        mrn_system,

        ---------- demographics (PHI)
        family_name,
        given_name,
        gender,
        birth_date,
        address_line,
        city,
        state,
        postal_code,
        phone,
        email,

        ---------- care team
        resolved_general_practitioner_id as general_practitioner_id,

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
