-- ============================================================================
-- mart_procedure_volume_by_facility_month
-- Performed procedures per facility, calendar month (of the encounter) and
-- CPT code: how many were performed and on how many encounters. Encounters
-- without a facility form their own group (facility_key null). Rebuilt on
-- every build.
-- ============================================================================

with

procedures as (

    select
        calendar.month_start_date,
        calendar.year_month,
        encounters.facility_key,
        bridge.procedure_key,
        bridge.encounter_key,
        bridge.procedure_quantity
    from {{ ref('bridge_encounter_procedure') }} as bridge
    inner join {{ ref('fct_encounters') }} as encounters
        on encounters.encounter_key = bridge.encounter_key
    inner join {{ ref('dim_date') }} as calendar
        on calendar.date_key = encounters.date_key

),

aggregated as (

    select
        month_start_date,
        year_month,
        facility_key,
        procedure_key,
        sum(procedure_quantity) as procedures,
        count(distinct encounter_key) as encounters
    from procedures
    group by month_start_date, year_month, facility_key, procedure_key

),

final as (

    select
        aggregated.month_start_date,
        aggregated.year_month,
        aggregated.facility_key,
        facilities.facility_label,
        facilities.hospital_label,
        aggregated.procedure_key,
        procedure_codes.procedure_code,
        procedure_codes.procedure_description,
        procedure_codes.procedure_category,
        cast(aggregated.procedures as {{ dbt.type_bigint() }}) as procedures,
        cast(aggregated.encounters as {{ dbt.type_bigint() }}) as encounters
    from aggregated
    left join {{ ref('dim_facility') }} as facilities
        on facilities.facility_key = aggregated.facility_key
    inner join {{ ref('dim_procedure') }} as procedure_codes
        on procedure_codes.procedure_key = aggregated.procedure_key

)

select * from final
