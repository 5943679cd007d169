-- ============================================================================
-- mart_avg_length_of_stay
-- Length of stay by hospital department (the department the patient was
-- discharged from): discharged stays with a known length of stay (open
-- stays and stays whose discharge was nulled as DISCHARGE_BEFORE_ADMISSION
-- have none), their average, shortest and longest stay in hours. Every
-- department has a row (0 stays, null averages when none).
-- ============================================================================

with

stays as (

    select department_key, length_of_stay_hours
    from {{ ref('fct_patient_flow') }}
    where length_of_stay_hours is not null
      and department_key is not null

),

by_department as (

    select
        department_key,
        count(*) as discharged_stays,
        avg(length_of_stay_hours) as avg_hours,
        min(length_of_stay_hours) as min_hours,
        max(length_of_stay_hours) as max_hours
    from stays
    group by department_key

),

final as (

    select
        ---------- where
        departments.department_key,
        departments.hospital_number,
        departments.hospital_label,
        departments.department,

        ---------- measures
        cast(coalesce(by_department.discharged_stays, 0) as {{ dbt.type_int() }}) as discharged_stays,
        cast(round(by_department.avg_hours, 2) as {{ dbt.type_numeric() }}) as avg_length_of_stay_hours,
        cast(by_department.min_hours as {{ dbt.type_numeric() }}) as min_length_of_stay_hours,
        cast(by_department.max_hours as {{ dbt.type_numeric() }}) as max_length_of_stay_hours

    from {{ ref('dim_department') }} as departments
    left join by_department
        on by_department.department_key = departments.department_key

)

select * from final
