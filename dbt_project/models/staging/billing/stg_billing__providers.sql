-- ============================================================================
-- stg_billing__providers
-- One row per bronze provider row of every daily full extract (athena +
-- epic), typed, with the NPI check (10 digits, Luhn check digit) and
-- is_latest_extract: only the newest extract of each system is the current
-- roster (older extracts stay for audit). Never filters.
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
     'when': "provider_id is null"},
    {'name': 'invalid_npi', 'quarantine': true,
     'when': "not is_npi_valid"},
] %}

{% set staged_columns %}
        ---------- ids
        source_system,
        provider_id,
        npi,
        dept_id,

        ---------- attributes
        first_name,
        last_name,
        specialty,
        source_modified_at,

        ---------- data quality
        is_npi_valid,
        _dq_flags,
        quarantine_reason,

        ---------- lineage
        {{ feed_lineage_columns() }}
{% endset %}

with

source as (

    select * from {{ source('billing', 'billing__providers') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids
        source_system,
        nullif(trim(provider_id), '') as provider_id,
        nullif(trim(dept_id), '') as dept_id,
        nullif(trim(npi), '') as npi,

        ---------- attributes (provider names: not patient PHI, but kept in silver)
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(trim(specialty), '') as specialty,

        ---------- raw values
        modified_at as raw_modified_at,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from source

),

typed as (

    select
        renamed.*,
        {{ is_valid_npi('npi') }} as is_npi_valid,
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
