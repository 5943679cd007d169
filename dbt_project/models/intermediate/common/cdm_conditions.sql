-- ============================================================================
-- cdm_conditions
-- Common data model: one row per condition (diagnosis) of either EHR, keyed
-- to its patient and encounter, with diagnosis_key = the key of its code in
-- gold.dim_diagnosis: null unless ICD-10-CM coded (a SNOMED CT-only diagnosis
-- is kept with its code_system, without a dim_diagnosis row). is_countable is false for conditions the source
-- retracted (verification status refuted / entered-in-error).
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'condition_id'],
    indexes=[{'columns': ['source_system', 'condition_id'], 'unique': true}, load_id_index()],
) }}

with

conditions as (

    -- incremental: the keys int_conditions_deduplicated recomputed in the same build
    select deduplicated.*
    from {{ ref('int_conditions_deduplicated') }} as deduplicated
    {{ touched_keys_join('deduplicated', ref('stg_ehr__conditions'), ['source_system', 'condition_id'], ehr_references('conditions')) }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['source_system', 'condition_id']) }} as condition_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,
        {{ optional_surrogate_key('encounter_id', ['source_system', 'encounter_id']) }} as encounter_key,
        case when code_system = 'http://hl7.org/fhir/sid/icd-10-cm' then {{ surrogate_key(['condition_code']) }} end as diagnosis_key,

        ---------- source ids
        source_system,
        condition_id,
        patient_id,
        encounter_id,

        ---------- codes
        code_system,
        condition_code,
        condition_display,
        code_system = 'http://hl7.org/fhir/sid/icd-10-cm' as is_icd10_coded,
        clinical_status_code,
        verification_status_code,
        coalesce(verification_status_code, '') not in ('refuted', 'entered-in-error') as is_countable,

        ---------- timestamps
        recorded_at,
        recorded_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,

        ---------- lineage: the winning version's load (the incremental watermark)
        _dlt_load_id

    from conditions

)

select * from final
