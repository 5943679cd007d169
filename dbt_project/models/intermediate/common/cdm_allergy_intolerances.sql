-- ============================================================================
-- cdm_allergy_intolerances
-- Common data model: one row per allergy / intolerance of either EHR, keyed
-- to its patient (and the encounter it was recorded in, if any); the
-- substance as a SNOMED CT or RxNorm code with its system. is_countable is
-- false for allergies the source retracted (verification status refuted or
-- entered-in-error), as for conditions. is_active: clinical status active.
-- is_no_known_allergy: the record states that the patient has NO known
-- allergy (US Core's SNOMED CT "no known ... allergy" situations): count
-- patients with allergies without these rows.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'allergy_intolerance_id'],
    indexes=[{'columns': ['source_system', 'allergy_intolerance_id'], 'unique': true}, load_id_index()],
) }}

{#- SNOMED CT situations "no known allergy / drug / food / environmental allergy" -#}
{% set no_known_allergy_codes = ['716186003', '409137002', '429625007', '428607008'] %}

with

allergies as (

    -- incremental: the keys int_allergy_intolerances_deduplicated recomputed in the same build
    select deduplicated.*
    from {{ ref('int_allergy_intolerances_deduplicated') }} as deduplicated
    {{ touched_keys_join('deduplicated', ref('stg_ehr__allergy_intolerances'), ['source_system', 'allergy_intolerance_id'], ehr_references('allergy_intolerances')) }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['source_system', 'allergy_intolerance_id']) }} as allergy_intolerance_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,
        {{ optional_surrogate_key('encounter_id', ['source_system', 'encounter_id']) }} as encounter_key,

        ---------- source ids
        source_system,
        allergy_intolerance_id,
        patient_id,
        encounter_id,

        ---------- codes
        code_system,
        allergy_code,
        allergy_display,
        clinical_status_code,
        verification_status_code,
        coalesce(verification_status_code, '') not in ('refuted', 'entered-in-error') as is_countable,
        coalesce(clinical_status_code = 'active', false) as is_active,
        coalesce(
            code_system = 'http://snomed.info/sct'
            and allergy_code in ('{{ no_known_allergy_codes | join("', '") }}'),
            false
        ) as is_no_known_allergy,
        allergy_type,
        allergy_category,
        criticality,

        ---------- timestamps
        recorded_at,
        recorded_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,

        ---------- lineage: the winning version's load (the incremental watermark)
        _dlt_load_id

    from allergies

)

select * from final
