-- ============================================================================
-- mart_top_adt_diagnoses
-- The most frequent admission diagnoses of the ADT feed: the top
-- var('top_adt_diagnoses') (default 10) ICD-10-CM codes by stays, with
-- distinct patients and the share of all stays with a diagnosis. The
-- description comes from gold.dim_diagnosis (null for a code it lacks).
-- Ties are broken by patients, then by code.
-- ============================================================================

{%- set top_n = var('top_adt_diagnoses', 10) | int %}

with

stays as (

    select stay_key, adt_patient_durable_key, diagnosis_code, diagnosis_key
    from {{ ref('fct_patient_flow') }}
    where diagnosis_code is not null

),

counted as (

    select
        diagnosis_code,
        max(diagnosis_key) as diagnosis_key,
        count(*) as stays,
        count(distinct adt_patient_durable_key) as patients
    from stays
    group by diagnosis_code

),

ranked as (

    select
        counted.*,
        diagnoses.diagnosis_description,
        diagnoses.chapter_description,
        row_number() over (order by counted.stays desc, counted.patients desc, counted.diagnosis_code) as diagnosis_rank,
        sum(counted.stays) over () as all_stays
    from counted
    left join {{ ref('dim_diagnosis') }} as diagnoses
        on diagnoses.diagnosis_key = counted.diagnosis_key

),

final as (

    select
        cast(diagnosis_rank as {{ dbt.type_int() }}) as diagnosis_rank,
        diagnosis_key,
        diagnosis_code,
        diagnosis_description,
        chapter_description,
        cast(stays as {{ dbt.type_int() }}) as stays,
        cast(patients as {{ dbt.type_int() }}) as patients,
        cast(round(100.0 * stays / all_stays, 2) as {{ dbt.type_numeric() }}) as share_of_stays_pct
    from ranked
    where diagnosis_rank <= {{ top_n }}

)

select * from final
