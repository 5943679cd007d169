-- ============================================================================
-- cdm_coverages
-- Common data model: one row per insurance coverage (current version) of
-- either EHR, keyed to its patient. is_active marks the coverage in force
-- (status 'active'); a replaced coverage keeps its cancelled version with
-- the period end.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'coverage_id'],
    indexes=[{'columns': ['source_system', 'coverage_id'], 'unique': true}, load_id_index()],
) }}

with

coverages as (

    -- incremental: the keys int_coverages_deduplicated recomputed in the same build
    select deduplicated.*
    from {{ ref('int_coverages_deduplicated') }} as deduplicated
    {{ touched_keys_join('deduplicated', ref('stg_ehr__coverages'), ['source_system', 'coverage_id'], ehr_references('coverages')) }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['source_system', 'coverage_id']) }} as coverage_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,

        ---------- source ids
        source_system,
        coverage_id,
        patient_id,

        ---------- coverage
        coverage_status,
        coverage_status = 'active' as is_active,
        insurance_type_code,
        insurance_type_system,
        payor_name,

        ---------- dates
        period_start_date,
        period_end_date,

        ---------- timestamps
        source_last_updated_at,

        ---------- data quality
        _dq_flags,

        ---------- lineage: the winning version's load (the incremental watermark)
        _dlt_load_id

    from coverages

)

select * from final
