-- ============================================================================
-- fct_patient_movements
-- One row per department spell of a stay: the ADMISSION and every TRANSFER
-- open a spell, which lasts until the next movement or the discharge (open
-- while the patient is still there). Spells of a stay are contiguous and
-- cover it from admission to discharge (int_adt_stay_movements), so
-- "who was in department D at instant t" is
--     started_at <= t and (ended_at is null or ended_at > t)
-- -- the basis of the occupancy and census marts. No identifiers.
-- ============================================================================

{%- set time_zone = hospital_time_zone() %}

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='movement_key') }}

with

movements as (

    select * from {{ ref('int_adt_stay_movements') }}

),

final as (

    select
        ---------- keys
        movement_key,
        stay_key,
        department_key,
        {{ date_key('cast(' ~ to_local_timestamp('started_at', time_zone) ~ ' as date)') }} as start_date_key,

        ---------- the spell
        movement_number,
        movement_type,
        bed_id as bed_label,
        started_at,
        ended_at,
        is_current,
        ends_with_discharge,

        ---------- measures
        cast(round(cast(minutes_in_department as {{ dbt.type_numeric() }}) / 60, 2) as {{ dbt.type_numeric() }}) as hours_in_department

    from movements

)

select * from final
