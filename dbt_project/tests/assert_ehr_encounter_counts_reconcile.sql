-- ============================================================================
-- Nothing is lost silently (encounters): every bronze line is staged, and
-- every staged line is either quarantined or one of the versions counted by
-- int_encounters_deduplicated:
--   count(bronze) = count(stg) = count(quarantine) + sum(versions_seen)
-- Returns one row (with all four numbers) when the books do not balance.
-- ============================================================================

-- shown in Dagster as a check on int_encounters_deduplicated
{{ config(meta={'dagster': {'ref': {'name': 'int_encounters_deduplicated'}}}) }}

with

counts as (

    select
        (select count(*) from {{ source('ehr', 'ehr__encounter') }}) as bronze_rows,
        (select count(*) from {{ ref('stg_ehr__encounters') }}) as staged_rows,
        (select count(*) from {{ ref('quarantine_ehr__encounters') }}) as quarantined_rows,
        (select coalesce(sum(versions_seen), 0) from {{ ref('int_encounters_deduplicated') }}) as deduplicated_versions

)

select *
from counts
where bronze_rows <> staged_rows
   or staged_rows <> quarantined_rows + deduplicated_versions
