-- ============================================================================
-- Top 10 diagnoses for patients aged 51-70 at the visit: completed
-- encounters carrying each ICD-10-CM code (primary or secondary), with
-- distinct patients and how often it was the primary diagnosis.
-- ============================================================================

select
    diagnoses.icd10_code,
    diagnoses.diagnosis_description,
    diagnoses.chapter_description,
    count(distinct encounters.encounter_key) as encounters,
    count(distinct encounters.patient_durable_key) as patients,
    sum(case when bridge.is_primary then 1 else 0 end) as times_primary
from {{ ref('fct_encounters') }} as encounters
inner join {{ ref('bridge_encounter_diagnosis') }} as bridge
    on bridge.encounter_key = encounters.encounter_key
inner join {{ ref('dim_diagnosis') }} as diagnoses
    on diagnoses.diagnosis_key = bridge.diagnosis_key
where encounters.age_band_at_encounter = '51-70'
group by diagnoses.icd10_code, diagnoses.diagnosis_description, diagnoses.chapter_description
order by encounters desc, patients desc, diagnoses.icd10_code
limit 10
