-- ============================================================================
-- mart_current_occupancy
-- Bed occupancy of every hospital department as of the latest event time in
-- the ADT data (as_of_at; deterministic: depends on the data, never on the
-- clock): patients in the department at that instant (their spell in
-- fct_patient_movements covers it), the bed capacity, free beds and
-- occupancy %. Every department has a row (zero when empty). Patients whose
-- department is unknown (MISSING_DEPARTMENT / INVALID_HOSPITAL without any
-- other event placing them) are not counted. Empty when there are no events.
-- ============================================================================

with

as_of as (

    select max(event_at) as as_of_at
    from {{ ref('int_adt_events_deduplicated') }}

),

departments as (

    select * from {{ ref('dim_department') }}

),

occupied as (

    select
        movements.department_key,
        count(distinct movements.stay_key) as occupied_beds
    from {{ ref('fct_patient_movements') }} as movements
    cross join as_of
    where movements.department_key is not null
      and movements.started_at <= as_of.as_of_at
      and (movements.ended_at is null or movements.ended_at > as_of.as_of_at)
    group by movements.department_key

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
        departments.department_code,

        ---------- measures
        departments.bed_capacity,
        cast(coalesce(occupied.occupied_beds, 0) as {{ dbt.type_int() }}) as occupied_beds,
        cast(departments.bed_capacity - coalesce(occupied.occupied_beds, 0) as {{ dbt.type_int() }}) as available_beds,
        cast(round(100.0 * coalesce(occupied.occupied_beds, 0) / nullif(departments.bed_capacity, 0), 2) as {{ dbt.type_numeric() }}) as occupancy_pct

    from departments
    cross join as_of
    left join occupied
        on occupied.department_key = departments.department_key
    where as_of.as_of_at is not null

)

select * from final
