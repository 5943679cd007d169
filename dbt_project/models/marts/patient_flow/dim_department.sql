-- ============================================================================
-- dim_department
-- One row per hospital department (7 hospitals x 7 departments) from the
-- hospital_departments seed, with its bed capacity. Type 1 reference data.
-- department_key = keyed hash of hospital number|department (macro
-- adt_department_key), the key the patient-flow facts carry.
-- ============================================================================

with

departments as (

    select * from {{ ref('hospital_departments') }}

),

final as (

    select
        ---------- keys
        {{ adt_department_key('departments.hospital_id', 'departments.department') }} as department_key,

        ---------- hospital
        cast(departments.hospital_id as {{ dbt.type_int() }}) as hospital_number,
        departments.hospital_label,

        ---------- department
        departments.department,
        departments.department_code,
        cast(departments.bed_capacity as {{ dbt.type_int() }}) as bed_capacity

    from departments

)

select * from final
