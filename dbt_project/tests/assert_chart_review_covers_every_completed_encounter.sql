-- ============================================================================
-- mart_chart_review and fct_encounters describe the same encounters: every
-- fact has exactly one review row and vice versa (same keys, same date).
-- The review's patient_key is the durable patient key (md5 of source|id),
-- i.e. fct_encounters.patient_durable_key (fct.patient_key is the version).
-- Returns the encounter keys that are missing on either side or disagree.
-- ============================================================================

-- shown in Dagster as a check on mart_chart_review
{{ config(meta={'dagster': {'ref': {'name': 'mart_chart_review'}}}) }}

with

facts as (

    select encounter_key, patient_durable_key as patient_key, encounter_date from {{ ref('fct_encounters') }}

),

review as (

    select encounter_key, patient_key, encounter_date from {{ ref('mart_chart_review') }}

)

select
    coalesce(facts.encounter_key, review.encounter_key) as encounter_key,
    facts.encounter_key is null as missing_in_fct,
    review.encounter_key is null as missing_in_review
from facts
full outer join review
    on facts.encounter_key = review.encounter_key
where facts.encounter_key is null
   or review.encounter_key is null
   or facts.patient_key <> review.patient_key
   or facts.encounter_date is distinct from review.encounter_date
