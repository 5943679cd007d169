-- ============================================================================
-- mart_avg_vitals_by_department
-- Average vitals at admission (heart rate, blood pressure, O2 saturation,
-- temperature) by the department the patient was admitted to. Averages
-- ignore missing values; stays_with_vitals counts stays with a heart rate.
-- One row per department with admissions.
-- ============================================================================

with

stays as (

    select *
    from {{ ref('fct_patient_flow') }}
    where admitting_department_key is not null

),

by_department as (

    select
        admitting_department_key as department_key,
        count(*) as stays,
        count(heart_rate) as stays_with_vitals,
        avg(heart_rate) as avg_heart_rate,
        avg(bp_systolic) as avg_bp_systolic,
        avg(bp_diastolic) as avg_bp_diastolic,
        avg(o2_saturation) as avg_o2_saturation,
        avg(temperature_c) as avg_temperature_c
    from stays
    group by admitting_department_key

),

final as (

    select
        ---------- where
        departments.department_key,
        departments.hospital_number,
        departments.hospital_label,
        departments.department,

        ---------- measures
        cast(by_department.stays as {{ dbt.type_int() }}) as stays,
        cast(by_department.stays_with_vitals as {{ dbt.type_int() }}) as stays_with_vitals,
        cast(round(by_department.avg_heart_rate, 1) as {{ dbt.type_numeric() }}) as avg_heart_rate,
        cast(round(by_department.avg_bp_systolic, 1) as {{ dbt.type_numeric() }}) as avg_bp_systolic,
        cast(round(by_department.avg_bp_diastolic, 1) as {{ dbt.type_numeric() }}) as avg_bp_diastolic,
        cast(round(by_department.avg_o2_saturation, 1) as {{ dbt.type_numeric() }}) as avg_o2_saturation,
        cast(round(by_department.avg_temperature_c, 2) as {{ dbt.type_numeric() }}) as avg_temperature_c

    from by_department
    inner join {{ ref('dim_department') }} as departments
        on departments.department_key = by_department.department_key

)

select * from final
