-- ============================================================================
-- mart_daily_census
-- The midnight census of every hospital department for every day from the
-- first admission in the ADT data through the day of its latest event:
-- patients in the department at 00:00 (hospital time zone, macro
-- hospital_time_zone) at the START of the day, with bed capacity and
-- occupancy %, plus the stays admitted to (first spell) and discharged from
-- (last spell) the department during the day. Every department x day has a
-- row (zeros included).
-- ============================================================================

{%- set time_zone = hospital_time_zone() %}

with

movements as (

    select
        department_key,
        stay_key,
        movement_number,
        ends_with_discharge,
        {{ to_local_timestamp('started_at', time_zone) }} as started_local,
        {{ to_local_timestamp('ended_at', time_zone) }} as ended_local
    from {{ ref('fct_patient_movements') }}
    where department_key is not null

),

bounds as (

    select
        (select cast(min(started_local) as date) from movements) as first_day,
        (select cast(max({{ to_local_timestamp('event_at', time_zone) }}) as date)
         from {{ ref('int_adt_events_deduplicated') }}) as last_day

),

spine as (

    {{ date_spine('(select first_day from bounds)', '(select last_day from bounds)') }}

),

days as (

    select
        date_day,
        cast(date_day as {{ dbt.type_timestamp() }}) as midnight_local,
        cast({{ dbt.dateadd('day', 1, 'date_day') }} as {{ dbt.type_timestamp() }}) as next_midnight_local
    from spine

),

departments as (

    select * from {{ ref('dim_department') }}

),

census as (

    select
        days.date_day,
        movements.department_key,
        count(distinct movements.stay_key) as midnight_census
    from days
    inner join movements
        on movements.started_local <= days.midnight_local
        and (movements.ended_local is null or movements.ended_local > days.midnight_local)
    group by days.date_day, movements.department_key

),

admissions as (

    select
        days.date_day,
        movements.department_key,
        count(distinct movements.stay_key) as admissions
    from days
    inner join movements
        on movements.movement_number = 1
        and movements.started_local >= days.midnight_local
        and movements.started_local < days.next_midnight_local
    group by days.date_day, movements.department_key

),

discharges as (

    select
        days.date_day,
        movements.department_key,
        count(distinct movements.stay_key) as discharges
    from days
    inner join movements
        on movements.ends_with_discharge
        and movements.ended_local >= days.midnight_local
        and movements.ended_local < days.next_midnight_local
    group by days.date_day, movements.department_key

),

final as (

    select
        ---------- when
        days.date_day as census_date,
        {{ date_key('days.date_day') }} as date_key,

        ---------- where
        departments.department_key,
        departments.hospital_number,
        departments.hospital_label,
        departments.department,

        ---------- measures
        departments.bed_capacity,
        cast(coalesce(census.midnight_census, 0) as {{ dbt.type_int() }}) as midnight_census,
        cast(round(100.0 * coalesce(census.midnight_census, 0) / nullif(departments.bed_capacity, 0), 2) as {{ dbt.type_numeric() }}) as occupancy_pct,
        cast(coalesce(admissions.admissions, 0) as {{ dbt.type_int() }}) as admissions,
        cast(coalesce(discharges.discharges, 0) as {{ dbt.type_int() }}) as discharges

    from days
    cross join departments
    left join census
        on census.date_day = days.date_day
        and census.department_key = departments.department_key
    left join admissions
        on admissions.date_day = days.date_day
        and admissions.department_key = departments.department_key
    left join discharges
        on discharges.date_day = days.date_day
        and discharges.department_key = departments.department_key

)

select * from final
