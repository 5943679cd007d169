-- ============================================================================
-- int_billing_departments_current
-- The current billing departments: the newest full extract of each billing
-- system, usable rows only, mapped to the network's hospital department
-- (gold.dim_department) through hospital number + department code.
-- Stays a table: a small current list (the newest extract of each system)
-- that each day's extract replaces whole.
-- ============================================================================

with

departments as (

    select * from {{ ref('stg_billing__departments') }}
    where is_latest_extract
        and quarantine_reason is null

),

hospital_departments as (

    select hospital_id, department, department_code from {{ ref('hospital_departments') }}

),

final as (

    select
        {{ surrogate_key(['departments.source_system', 'departments.dept_id']) }} as billing_department_key,
        {{ adt_department_key('hospital_departments.hospital_id', 'hospital_departments.department') }} as department_key,

        departments.source_system,
        departments.dept_id,
        departments.hospital_id,
        departments.dept_name,
        departments.department_code,
        hospital_departments.department

    from departments
    left join hospital_departments
        on cast(hospital_departments.hospital_id as {{ dbt.type_int() }}) = departments.hospital_id
        and hospital_departments.department_code = departments.department_code

)

select * from final
