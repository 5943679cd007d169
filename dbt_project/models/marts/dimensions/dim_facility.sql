-- ============================================================================
-- dim_facility
-- One row per facility (FHIR Location) of either EHR -- 10 facilities across
-- 7 hospitals in the simulated feed -- with its hospital. Type 1: the current
-- version of the location and organization.
-- Inferred members: a facility that a completed encounter or a practitioner
-- role points at but that never arrived usably gets a row flagged
-- is_inferred (labels 'Unknown facility'), so every foreign key resolves.
-- ============================================================================

with

facilities as (

    select * from {{ ref('cdm_facilities') }}

),

referenced as (

    select facility_key, source_system
    from {{ ref('cdm_encounters') }}
    where is_completed and facility_key is not null

    union

    select facility_key, source_system
    from {{ ref('snap_practitioners') }}
    where facility_key is not null

),

inferred as (

    select distinct
        referenced.facility_key,
        referenced.source_system
    from referenced
    left join facilities
        on facilities.facility_key = referenced.facility_key
    where facilities.facility_key is null

),

final as (

    select
        facility_key,
        organization_key,
        source_system,
        facility_name as facility_label,
        facility_type_code,
        facility_type_display,
        city,
        state,
        hospital_name as hospital_label,
        false as is_inferred
    from facilities

    union all

    select
        facility_key,
        cast(null as {{ dbt.type_string() }}) as organization_key,
        source_system,
        'Unknown facility' as facility_label,
        cast(null as {{ dbt.type_string() }}) as facility_type_code,
        cast(null as {{ dbt.type_string() }}) as facility_type_display,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as state,
        'Unknown hospital' as hospital_label,
        true as is_inferred
    from inferred

)

select * from final
