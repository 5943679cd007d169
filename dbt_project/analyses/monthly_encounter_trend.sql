-- ============================================================================
-- Monthly encounter trend: completed encounters and unique patients per
-- month, with the change against the previous month. Gold only (runs as the
-- analyst role). `dbt compile` renders it to target/compiled/.../analyses/.
-- ============================================================================

with

monthly as (

    select
        calendar.month_start_date,
        calendar.year_month,
        count(*) as encounters,
        count(distinct encounters.patient_durable_key) as unique_patients
    from {{ ref('fct_encounters') }} as encounters
    inner join {{ ref('dim_date') }} as calendar
        on calendar.date_key = encounters.date_key
    group by calendar.month_start_date, calendar.year_month

)

select
    year_month,
    encounters,
    unique_patients,
    encounters - lag(encounters) over (order by month_start_date) as change_vs_previous_month
from monthly
order by month_start_date
