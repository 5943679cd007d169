-- ============================================================================
-- mart_patient_chronic_conditions
-- One row per EHR patient and chronic condition group (seed
-- chronic_condition_groups, CMS CCW-like ICD-10-CM prefixes) the patient was
-- ever diagnosed with, with the first and last diagnosis dates and the number
-- of diagnoses.
--   diagnoses   countable conditions of cdm_conditions (not refuted or
--               entered-in-error) coded in ICD-10-CM with a code of the
--               reference code set (gold.dim_diagnosis.is_in_code_set): a
--               typo or a block range such as M80-M94 maps to no group
--   mapping     a code belongs to a group when it starts with one of the
--               group's prefixes (a category such as E11, or a dotted
--               subcategory such as I11.0); one code may be in several groups
--   dates       recorded_date of the diagnoses; num_diagnoses counts each
--               condition once per group
-- ============================================================================

with

conditions as (

    select condition_key, patient_key, diagnosis_key, recorded_date
    from {{ ref('cdm_conditions') }}
    where is_countable and is_icd10_coded

),

codes as (

    select diagnosis_key, icd10_code
    from {{ ref('dim_diagnosis') }}
    where is_in_code_set

),

condition_groups as (

    select condition_group, condition_group_label, icd10_code_prefix
    from {{ ref('chronic_condition_groups') }}

),

grouped_conditions as (

    select
        conditions.patient_key,
        condition_groups.condition_group,
        condition_groups.condition_group_label,
        conditions.condition_key,
        conditions.recorded_date
    from conditions
    inner join codes
        on codes.diagnosis_key = conditions.diagnosis_key
    inner join condition_groups
        on codes.icd10_code like {{ dbt.concat(['condition_groups.icd10_code_prefix', "'%'"]) }}

),

final as (

    select
        ---------- keys
        patient_key as patient_durable_key,

        ---------- condition group
        condition_group,
        condition_group_label,

        ---------- dates
        min(recorded_date) as first_diagnosis_date,
        max(recorded_date) as last_diagnosis_date,

        ---------- measures
        cast(count(distinct condition_key) as {{ dbt.type_int() }}) as num_diagnoses

    from grouped_conditions
    group by patient_key, condition_group, condition_group_label

)

select * from final
