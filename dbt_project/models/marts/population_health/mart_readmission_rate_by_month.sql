-- ============================================================================
-- mart_readmission_rate_by_month
-- Grain: hospital x department x discharge month (the department the index
-- stay was discharged from; hospital time zone). 30-day all-cause
-- readmission rate = readmitted index stays / index stays (definitions in
-- fct_readmissions). Only department-months with index stays have a row;
-- index stays whose department is unknown are left out (they stay in
-- fct_readmissions). Recent months are right-censored: see
-- index_stays_with_full_follow_up.
-- ============================================================================

with

readmissions as (

    select * from {{ ref('fct_readmissions') }}

),

departments as (

    select department_key, hospital_number, hospital_label, department
    from {{ ref('dim_department') }}

),

by_department_month as (

    select
        department_key,
        discharge_month,
        count(*) as index_stays,
        sum(case when is_readmitted_30d then 1 else 0 end) as readmissions,
        sum(case when is_follow_up_complete then 1 else 0 end) as index_stays_with_full_follow_up
    from readmissions
    group by department_key, discharge_month

),

final as (

    select
        ---------- where and when
        departments.department_key,
        departments.hospital_number,
        departments.hospital_label,
        departments.department,
        by_department_month.discharge_month,

        ---------- measures
        cast(by_department_month.index_stays as {{ dbt.type_int() }}) as index_stays,
        cast(by_department_month.readmissions as {{ dbt.type_int() }}) as readmissions,
        cast(round(cast(by_department_month.readmissions as {{ dbt.type_numeric() }}) / by_department_month.index_stays, 4)
            as {{ dbt.type_numeric() }}) as readmission_rate,
        cast(by_department_month.index_stays_with_full_follow_up as {{ dbt.type_int() }}) as index_stays_with_full_follow_up

    from by_department_month
    inner join departments
        on departments.department_key = by_department_month.department_key

)

select * from final
