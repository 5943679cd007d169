-- ============================================================================
-- int_encounters_completed
-- The current version of every encounter whose status is a completed status
-- in the encounter_statuses seed (is_completed = true: only 'finished').
-- Status is applied AFTER de-duplication: an encounter re-sent as cancelled
-- is no longer completed.
-- ============================================================================

with

encounters as (

    select * from {{ ref('int_encounters_deduplicated') }}

),

completed_statuses as (

    select code from {{ ref('encounter_statuses') }}
    where is_completed

),

final as (

    select encounters.*
    from encounters
    where encounters.encounter_status in (select code from completed_statuses)

)

select * from final
