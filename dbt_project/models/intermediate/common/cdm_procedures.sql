-- ============================================================================
-- cdm_procedures
-- Common data model: one row per procedure (CPT coded service) of either EHR,
-- keyed to its patient and encounter. procedure_occurrence_key identifies the
-- resource; procedure_key = the key of its CPT / HCPCS code in
-- gold.dim_procedure, null for other code systems (SNOMED CT: kept with its
-- code_system, without a dim_procedure row).
-- is_performed: status 'completed' (only performed services are counted).
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'procedure_id'],
    indexes=[{'columns': ['source_system', 'procedure_id'], 'unique': true}, load_id_index()],
) }}

with

procedures as (

    -- incremental: the keys int_procedures_deduplicated recomputed in the same build
    select deduplicated.*
    from {{ ref('int_procedures_deduplicated') }} as deduplicated
    {{ touched_keys_join('deduplicated', ref('stg_ehr__procedures'), ['source_system', 'procedure_id'], ehr_references('procedures')) }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['source_system', 'procedure_id']) }} as procedure_occurrence_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,
        {{ optional_surrogate_key('encounter_id', ['source_system', 'encounter_id']) }} as encounter_key,
        case when code_system in ('http://www.ama-assn.org/go/cpt', 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets')
            then {{ surrogate_key(['procedure_code']) }} end as procedure_key,

        ---------- source ids
        source_system,
        procedure_id,
        patient_id,
        encounter_id,

        ---------- codes
        procedure_status,
        procedure_status = 'completed' as is_performed,
        code_system,
        procedure_code,
        procedure_display,

        ---------- timestamps
        performed_at,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,

        ---------- lineage: the winning version's load (the incremental watermark)
        _dlt_load_id

    from procedures

)

select * from final
