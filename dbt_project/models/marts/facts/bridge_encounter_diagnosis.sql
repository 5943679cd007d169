-- ============================================================================
-- bridge_encounter_diagnosis
-- Bridge between fct_encounters and dim_diagnosis: one row per (completed
-- encounter, code system, diagnosis code), with the code as the EHR sent it
-- (code_system, code, display). diagnosis_key is null for a code outside
-- ICD-10-CM (SNOMED CT-only diagnoses: kept and counted, no dim_diagnosis
-- row). Conditions the source retracted (refuted, entered-in-error) are left
-- out; a code charted twice on one encounter counts once.
--   diagnosis_rank  1 = primary: the encounter's diagnoses in the order the
--                   EHR charted them (earliest recordedDate, then the first
--                   created condition id: shortest, then lowest)
--   weighting_factor 1 / diagnoses on the encounter, so allocating an
--                   encounter measure over its diagnoses sums to the measure
-- ============================================================================

with

encounters as (

    select encounter_key
    from {{ ref('cdm_encounters') }}
    where is_completed

),

conditions as (

    select
        conditions.encounter_key,
        conditions.diagnosis_key,
        conditions.code_system,
        conditions.condition_code,
        conditions.condition_display,
        conditions.recorded_at,
        conditions.condition_id,
        row_number() over (
            partition by conditions.encounter_key, conditions.code_system, conditions.condition_code
            order by
                conditions.recorded_at nulls last,
                {{ dbt.length('conditions.condition_id') }},
                conditions.condition_id
        ) as occurrence_rank
    from {{ ref('cdm_conditions') }} as conditions
    inner join encounters
        on encounters.encounter_key = conditions.encounter_key
    where conditions.is_countable

),

first_occurrences as (

    select * from conditions
    where occurrence_rank = 1

),

ranked as (

    select
        encounter_key,
        diagnosis_key,
        code_system,
        condition_code,
        condition_display,
        row_number() over (
            partition by encounter_key
            order by recorded_at nulls last, {{ dbt.length('condition_id') }}, condition_id
        ) as diagnosis_rank,
        count(*) over (partition by encounter_key) as diagnoses_on_encounter
    from first_occurrences

),

final as (

    select
        encounter_key,
        diagnosis_key,
        code_system,
        condition_code as code,
        condition_display as display,
        cast(diagnosis_rank as {{ dbt.type_int() }}) as diagnosis_rank,
        diagnosis_rank = 1 as is_primary,
        cast(1.0 / diagnoses_on_encounter as {{ dbt.type_numeric() }}) as weighting_factor
    from ranked

)

select * from final
