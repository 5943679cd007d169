-- ============================================================================
-- Bed occupancy by hospital right now (as of the latest ADT event): occupied
-- beds, staffed beds and occupancy %, with the fullest department of each
-- hospital. Rolls up gold.mart_current_occupancy.
-- ============================================================================

with

departments as (

    select
        *,
        row_number() over (
            partition by hospital_number
            order by occupancy_pct desc, department
        ) as fullness_rank
    from {{ ref('mart_current_occupancy') }}

)

select
    hospital_number,
    hospital_label,
    max(as_of_at) as as_of_at,
    sum(occupied_beds) as occupied_beds,
    sum(bed_capacity) as bed_capacity,
    round(100.0 * sum(occupied_beds) / sum(bed_capacity), 1) as occupancy_pct,
    max(case when fullness_rank = 1 then department end) as fullest_department,
    max(case when fullness_rank = 1 then occupancy_pct end) as fullest_department_pct
from departments
group by hospital_number, hospital_label
order by hospital_number
