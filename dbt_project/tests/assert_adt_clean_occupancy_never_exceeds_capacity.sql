-- ============================================================================
-- Occupancy never exceeds 100% -- on clean data. Only stays without any
-- data-quality flag (fct_patient_flow.dq_flags is null: none of their
-- events, quarantined ones included, was flagged) are counted, so a lost
-- discharge or a misplaced department cannot inflate a department. At the
-- start of every clean spell (occupancy only rises when a spell starts), the
-- clean spells of the same department covering that instant (a running sum
-- over starts and ends) must not exceed its bed capacity. Returns every
-- department and instant where they do. The overall marts (dirty stays
-- included) carry warn-severity checks of the same rule
-- (mart_current_occupancy, mart_daily_census).
-- ============================================================================

-- shown in Dagster as a check on fct_patient_movements
{{ config(meta={'dagster': {'ref': {'name': 'fct_patient_movements'}}}) }}

with

clean_spells as (

    select
        movements.department_key,
        movements.stay_key,
        movements.started_at,
        movements.ended_at
    from {{ ref('fct_patient_movements') }} as movements
    inner join {{ ref('fct_patient_flow') }} as stays
        on stays.stay_key = movements.stay_key
    where stays.dq_flags is null
      and movements.department_key is not null

),

-- a sweep: +1 when a spell starts, -1 when it ends; at equal instants the
-- ends come first (a bed freed at t can be taken at t)
bed_changes as (

    select department_key, started_at as instant, 1 as delta from clean_spells
    union all
    select department_key, ended_at as instant, -1 as delta from clean_spells
    where ended_at is not null

),

occupancy_at_each_start as (

    select
        department_key,
        instant,
        delta,
        sum(delta) over (
            partition by department_key
            order by instant, delta
            rows between unbounded preceding and current row
        ) as occupied_beds
    from bed_changes

)

select
    occupancy.department_key,
    departments.hospital_number,
    departments.department,
    occupancy.instant,
    occupancy.occupied_beds,
    departments.bed_capacity
from occupancy_at_each_start as occupancy
inner join {{ ref('dim_department') }} as departments
    on departments.department_key = occupancy.department_key
where occupancy.delta = 1
  and occupancy.occupied_beds > departments.bed_capacity
