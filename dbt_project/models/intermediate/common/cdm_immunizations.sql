-- ============================================================================
-- cdm_immunizations
-- Common data model: one row per immunization record of either EHR, keyed to
-- its patient and encounter, the vaccine as a CVX code. is_administered:
-- status 'completed' (a 'not-done' record documents a dose NOT given, with
-- status_reason_code saying why). is_countable is false for records entered
-- in error.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'immunization_id'],
    indexes=[{'columns': ['source_system', 'immunization_id'], 'unique': true}, load_id_index()],
) }}

with

immunizations as (

    -- incremental: the keys int_immunizations_deduplicated recomputed in the same build
    select deduplicated.*
    from {{ ref('int_immunizations_deduplicated') }} as deduplicated
    {{ touched_keys_join('deduplicated', ref('stg_ehr__immunizations'), ['source_system', 'immunization_id'], ehr_references('immunizations')) }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['source_system', 'immunization_id']) }} as immunization_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,
        {{ optional_surrogate_key('encounter_id', ['source_system', 'encounter_id']) }} as encounter_key,

        ---------- source ids
        source_system,
        immunization_id,
        patient_id,
        encounter_id,

        ---------- codes
        immunization_status,
        coalesce(immunization_status = 'completed', false) as is_administered,
        coalesce(immunization_status, '') <> 'entered-in-error' as is_countable,
        status_reason_code,
        vaccine_code_system,
        vaccine_code,
        vaccine_display,

        ---------- timestamps
        occurred_at,
        occurrence_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,

        ---------- lineage: the winning version's load (the incremental watermark)
        _dlt_load_id

    from immunizations

)

select * from final
