-- ============================================================================
-- mart_monthly_encounters
-- One row per calendar month from the first to the last month with a
-- completed encounter (months without any show zeros): encounters, unique
-- patients (by durable key), the split by encounter class and the average
-- length of stay. Rebuilt from the star on every build.
-- ============================================================================

with

encounters as (

    select * from {{ ref('fct_encounters') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

encounter_months as (

    select
        calendar.month_start_date,
        encounters.encounter_key,
        encounters.patient_durable_key,
        encounters.encounter_class_code,
        encounters.length_of_stay_hours,
        encounters.num_procedures
    from encounters
    inner join calendar
        on calendar.date_key = encounters.date_key

),

months as (

    select distinct month_start_date, year_month
    from calendar
    where month_start_date between (select min(month_start_date) from encounter_months)
                               and (select max(month_start_date) from encounter_months)

),

monthly as (

    select
        month_start_date,
        count(*) as encounters,
        count(distinct patient_durable_key) as unique_patients,
        sum(case when encounter_class_code = 'AMB' then 1 else 0 end) as ambulatory_encounters,
        sum(case when encounter_class_code = 'EMER' then 1 else 0 end) as emergency_encounters,
        sum(case when encounter_class_code = 'IMP' then 1 else 0 end) as inpatient_encounters,
        sum(num_procedures) as procedures,
        avg(length_of_stay_hours) as avg_length_of_stay_hours
    from encounter_months
    group by month_start_date

),

final as (

    select
        months.month_start_date,
        months.year_month,
        cast(coalesce(monthly.encounters, 0) as {{ dbt.type_bigint() }}) as encounters,
        cast(coalesce(monthly.unique_patients, 0) as {{ dbt.type_bigint() }}) as unique_patients,
        cast(coalesce(monthly.ambulatory_encounters, 0) as {{ dbt.type_bigint() }}) as ambulatory_encounters,
        cast(coalesce(monthly.emergency_encounters, 0) as {{ dbt.type_bigint() }}) as emergency_encounters,
        cast(coalesce(monthly.inpatient_encounters, 0) as {{ dbt.type_bigint() }}) as inpatient_encounters,
        cast(coalesce(monthly.procedures, 0) as {{ dbt.type_bigint() }}) as procedures,
        cast(round(monthly.avg_length_of_stay_hours, 2) as {{ dbt.type_numeric() }}) as avg_length_of_stay_hours
    from months
    left join monthly
        on monthly.month_start_date = months.month_start_date

)

select * from final
