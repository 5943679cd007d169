-- ============================================================================
-- stg_billing__departments
-- One row per bronze department row of every daily full extract (athena +
-- epic), typed, with is_latest_extract (the newest extract per system is the
-- current list). Departments map to the network's hospital departments
-- (seed hospital_departments) by hospital and department code. Never filters.
-- Incremental (delete+insert by source_file): each build types the rows of
-- the completed bronze loads newer than the greatest _dlt_load_id here, and
-- re-flags the rows here that were the newest extract of a system the new
-- rows belong to (copied from this table): only they can stop being the
-- newest. --full-refresh gives the same rows.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key='source_file',
    indexes=[load_id_index(), {'columns': ['source_file']}],
) }}

{% set rules = [
    {'name': 'missing_id', 'quarantine': true,
     'when': "dept_id is null"},
    {'name': 'invalid_hospital', 'quarantine': false,
     'when': "raw_hospital_id is not null and hospital_id is null"},
] %}

{% set staged_columns %}
        ---------- ids
        source_system,
        dept_id,
        hospital_id,

        ---------- attributes
        dept_name,
        department_code,
        source_modified_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,

        ---------- lineage
        {{ feed_lineage_columns() }}
{% endset %}

with

source as (

    select * from {{ source('billing', 'billing__departments') }}
    where {{ incremental_load_filter(completed_only=true) }}

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
        {{ safe_cast_timestamptz('raw_modified_at') }} as source_modified_at
    from renamed

),

validated as (

    select
        typed.*,
        {{ dq_flags(rules) }} as _dq_flags,
        {{ quarantine_reason(rules) }} as quarantine_reason
    from typed

),

staged as (

    select
        {{ staged_columns }}
    from validated

),

candidates as (

    -- the new rows and, on an incremental build, the newest extract here of each system they
    -- belong to (it may stop being the newest)
    {{ new_and_previous_rows(staged_columns, latest_extracts()) }}

),

final as (

    select
        candidates.*,
        -- the newest extract of each system is the current list
        file_date = max(file_date) over (partition by source_system) as is_latest_extract
    from candidates

)

select * from final
