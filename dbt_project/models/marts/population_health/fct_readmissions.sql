-- ============================================================================
-- fct_readmissions
-- 30-day all-cause readmissions (CMS Hospital-Wide Readmission measure,
-- simplified) from the ADT stays of gold.fct_patient_flow. One row per index
-- stay. Days are calendar days in the hospitals' time zone.
--   next admission  the patient's next stay by admission time (any stay:
--                   open, or closed with an unknown discharge time, too)
--   transfer        the next admission falls on or before the discharge day
--                   (same day, or overlapping): the stay continues in
--                   another department or hospital, so it is no index
--                   stay; the receiving stay is, from its own discharge
--   index stay      a stay of a known patient with a discharge time that is
--                   not continued by a transfer (the ADT feed sends no
--                   discharge disposition: deaths cannot be excluded)
--   readmitted      the next admission is 1-30 days after the index
--                   discharge day (day 30 counts, day 31 does not) and
--                   unplanned (priority not Elective). Only the first
--                   admission after discharge counts: after a planned one,
--                   the index stay is not readmitted.
--   follow-up       complete when the feed's last admission day is at least
--                   30 days after the discharge day; later index stays are
--                   right-censored (a readmission may still come)
-- ============================================================================

{%- set time_zone = hospital_time_zone() %}
{#- a patient's stays in admission order (no named WINDOW clause: not every engine has one) -#}
{%- set patient_stays = 'over (partition by adt_patient_durable_key order by admitted_at, stay_key)' %}

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='stay_key') }}

with

stays as (

    select
        stay_key,
        adt_patient_durable_key,
        department_key,
        admission_priority,
        admitted_at,
        cast({{ to_local_timestamp('admitted_at', time_zone) }} as date) as admission_date,
        cast({{ to_local_timestamp('discharged_at', time_zone) }} as date) as discharge_date
    from {{ ref('fct_patient_flow') }}
    where adt_patient_durable_key is not null

),

feed as (

    select max(admission_date) as last_admission_date
    from stays

),

with_next_admission as (

    select
        stays.*,
        lead(stay_key) {{ patient_stays }} as next_stay_key,
        lead(admission_date) {{ patient_stays }} as next_admission_date,
        lead(admission_priority) {{ patient_stays }} as next_admission_priority
    from stays

),

index_stays as (

    select
        with_next_admission.*,
        {{ dbt.datediff('discharge_date', 'next_admission_date', 'day') }} as days_to_next_admission,
        coalesce(next_admission_priority = 'Elective', false) as is_next_admission_planned
    from with_next_admission
    where discharge_date is not null
      and (next_admission_date is null or next_admission_date > discharge_date)

),

-- an index stay's next admission is on a later day, so days_to_next_admission >= 1 here
readmissions as (

    select
        index_stays.*,
        coalesce(days_to_next_admission <= 30, false) and not is_next_admission_planned as is_readmitted_30d
    from index_stays

),

final as (

    select
        ---------- keys
        readmissions.stay_key,
        readmissions.adt_patient_durable_key,
        readmissions.department_key,
        {{ date_key('readmissions.discharge_date') }} as discharge_date_key,
        case when readmissions.is_readmitted_30d then readmissions.next_stay_key end as readmission_stay_key,

        ---------- codes
        readmissions.admission_priority,

        ---------- dates
        readmissions.admission_date,
        readmissions.discharge_date,
        cast({{ dbt.date_trunc('month', 'readmissions.discharge_date') }} as date) as discharge_month,

        ---------- measures
        cast(readmissions.days_to_next_admission as {{ dbt.type_int() }}) as days_to_next_admission,
        readmissions.is_next_admission_planned,
        readmissions.is_readmitted_30d,
        cast(case when readmissions.is_readmitted_30d then readmissions.days_to_next_admission end
            as {{ dbt.type_int() }}) as days_to_readmission,
        {{ dbt.datediff('readmissions.discharge_date', 'feed.last_admission_date', 'day') }} >= 30 as is_follow_up_complete

    from readmissions
    cross join feed

)

select * from final
