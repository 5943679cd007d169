-- ============================================================================
-- int_immunizations_deduplicated
-- One row per (source_system, immunization_id) among USABLE staged Immunization
-- rows (quarantine_reason is null): the current version, picked by
-- latest_version_rank (latest meta.lastUpdated, then later batch, later line).
-- versions_seen = usable staged rows of the key.
-- ============================================================================

-- conditional-reference lookups: hash joins, whatever the fresh tables' estimates say
{{ config(pre_hook="{{ carehouse.prefer_hash_joins() }}") }}

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

resolved as (

    -- conditional references ('Practitioner?identifier=s|v') resolved on the
    -- referenced resources' identifiers; an unresolved one is kept and flagged
    {{ resolve_references('ranked', [('patient', 'patient', 'Patient')]) }}

),

final as (

    select
        ---------- source
        source_system,

        ---------- ids
        immunization_id,
        resolved_patient_id as patient_id,
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
