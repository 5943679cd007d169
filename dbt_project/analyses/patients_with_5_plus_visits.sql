-- ============================================================================
-- Patients with 5 or more completed encounters, counted per patient durable
-- key (the same patient across dim_patient versions). No identifiers: the
-- key, the current version's age band, sex, insurance and state only.
-- ============================================================================

with

visits as (

    select
        patient_durable_key,
        count(*) as completed_visits,
        min(encounter_date) as first_visit_date,
        max(encounter_date) as last_visit_date
    from {{ ref('fct_encounters') }}
    group by patient_durable_key
    having count(*) >= 5

)

select
    visits.patient_durable_key,
    visits.completed_visits,
    visits.first_visit_date,
    visits.last_visit_date,
    patients.age_band,
    patients.sex,
    patients.insurance_type,
    patients.state
from visits
inner join {{ ref('dim_patient') }} as patients
    on patients.patient_durable_key = visits.patient_durable_key
    and patients.is_current
order by visits.completed_visits desc, visits.patient_durable_key
