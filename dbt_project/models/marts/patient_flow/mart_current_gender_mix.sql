-- ============================================================================
-- mart_current_gender_mix
-- The patients in each hospital department as of the latest event time in
-- the ADT data (same instant and rule as mart_current_occupancy), by sex
-- (of the patient version valid at admission; 'unknown' when the stay has
-- no known patient), with each sex's share of the department's patients.
-- One row per department and sex present.
-- ============================================================================

with

as_of as (

    select max(event_at) as as_of_at
    from {{ ref('int_adt_events_deduplicated') }}

),

present as (

    select distinct
        movements.department_key,
        movements.stay_key
    from {{ ref('fct_patient_movements') }} as movements
    cross join as_of
    where movements.department_key is not null
      and movements.started_at <= as_of.as_of_at
      and (movements.ended_at is null or movements.ended_at > as_of.as_of_at)

),

by_sex as (

    select
        present.department_key,
        coalesce(patients.sex, 'unknown') as sex,
        count(*) as patients
    from present
    inner join {{ ref('fct_patient_flow') }} as stays
        on stays.stay_key = present.stay_key
    left join {{ ref('dim_adt_patient') }} as patients
        on patients.adt_patient_key = stays.adt_patient_key
    group by present.department_key, coalesce(patients.sex, 'unknown')

),

final as (

    select
        ---------- when
        as_of.as_of_at,

        ---------- where
        departments.department_key,
        departments.hospital_number,
        departments.hospital_label,
        departments.department,

        ---------- who
        by_sex.sex,
        cast(by_sex.patients as {{ dbt.type_int() }}) as patients,
        cast(round(100.0 * by_sex.patients / sum(by_sex.patients) over (partition by by_sex.department_key), 2) as {{ dbt.type_numeric() }}) as share_of_department_pct

    from by_sex
    inner join {{ ref('dim_department') }} as departments
        on departments.department_key = by_sex.department_key
    cross join as_of

)

select * from final
