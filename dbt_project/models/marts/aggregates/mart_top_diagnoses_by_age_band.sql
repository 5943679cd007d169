-- ============================================================================
-- mart_top_diagnoses_by_age_band
-- The most frequent diagnoses per age band (age at the encounter): for each
-- band, the top var('top_diagnoses_per_age_band') (default 25) diagnosis
-- codes by completed encounters that carry them (any rank, not only
-- primary), with distinct patients and the share of the band's encounters.
-- Ties are broken by patients, then by code. Rebuilt on every build.
-- ============================================================================

{%- set top_n = var('top_diagnoses_per_age_band', 25) | int %}

with

encounters as (

    select encounter_key, patient_durable_key, age_band_at_encounter as age_band
    from {{ ref('fct_encounters') }}

),

encounter_diagnoses as (

    select
        encounters.age_band,
        encounters.encounter_key,
        encounters.patient_durable_key,
        bridge.diagnosis_key
    from {{ ref('bridge_encounter_diagnosis') }} as bridge
    inner join encounters
        on encounters.encounter_key = bridge.encounter_key

),

band_totals as (

    select age_band, count(*) as band_encounters
    from encounters
    group by age_band

),

counted as (

    select
        age_band,
        diagnosis_key,
        count(distinct encounter_key) as encounters,
        count(distinct patient_durable_key) as patients
    from encounter_diagnoses
    group by age_band, diagnosis_key

),

ranked as (

    select
        counted.*,
        diagnoses.icd10_code,
        diagnoses.diagnosis_description,
        diagnoses.chapter_description,
        row_number() over (
            partition by counted.age_band
            order by counted.encounters desc, counted.patients desc, diagnoses.icd10_code
        ) as diagnosis_rank
    from counted
    inner join {{ ref('dim_diagnosis') }} as diagnoses
        on diagnoses.diagnosis_key = counted.diagnosis_key

),

final as (

    select
        ranked.age_band,
        cast(ranked.diagnosis_rank as {{ dbt.type_int() }}) as diagnosis_rank,
        ranked.diagnosis_key,
        ranked.icd10_code,
        ranked.diagnosis_description,
        ranked.chapter_description,
        cast(ranked.encounters as {{ dbt.type_bigint() }}) as encounters,
        cast(ranked.patients as {{ dbt.type_bigint() }}) as patients,
        cast(round(100.0 * ranked.encounters / band_totals.band_encounters, 2) as {{ dbt.type_numeric() }}) as share_of_band_encounters_pct
    from ranked
    inner join band_totals
        on band_totals.age_band = ranked.age_band
    where ranked.diagnosis_rank <= {{ top_n }}

)

select * from final
