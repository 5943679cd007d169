-- ============================================================================
-- stg_billing__departments
-- One row per bronze department row of every daily full extract (athena +
-- epic), typed, with is_latest_extract (the newest extract per system is the
-- current list). Departments map to the network's hospital departments
-- (seed hospital_departments) by hospital and department code. Never filters.
-- ============================================================================

{% set rules = [
    {'name': 'missing_id', 'quarantine': true,
     'when': "dept_id is null"},
    {'name': 'invalid_hospital', 'quarantine': false,
     'when': "raw_hospital_id is not null and hospital_id is null"},
] %}

with

source as (

    select * from {{ source('billing', 'billing__departments') }}

),

renamed as (

    select
        ---------- ids
        source_system,
        nullif(trim(dept_id), '') as dept_id,

        ---------- attributes
        nullif(trim(dept_name), '') as dept_name,
        upper(nullif(trim(department_code), '')) as department_code,

        ---------- raw values
        hospital_id as raw_hospital_id,
        modified_at as raw_modified_at,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from source

),

typed as (

    select
        renamed.*,
        {{ safe_cast_integer('raw_hospital_id') }} as hospital_id,
        {{ safe_cast_timestamptz('raw_modified_at') }} as source_modified_at,
        file_date = max(file_date) over (partition by source_system) as is_latest_extract
    from renamed

),

validated as (

    select
        typed.*,
        {{ dq_flags(rules) }} as _dq_flags,
        {{ quarantine_reason(rules) }} as quarantine_reason
    from typed

),

final as (

    select
        ---------- ids
        source_system,
        dept_id,
        hospital_id,

        ---------- attributes
        dept_name,
        department_code,
        source_modified_at,

        ---------- data quality
        is_latest_extract,
        _dq_flags,
        quarantine_reason,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from validated

)

select * from final
