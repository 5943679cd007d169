-- ============================================================================
-- Nothing is lost silently (patients):
--   count(bronze) = count(stg) = count(quarantine) + sum(versions_seen)
-- Returns one row (with all four numbers) when the books do not balance.
-- ============================================================================

-- shown in Dagster as a check on int_patients_deduplicated
{{ config(meta={'dagster': {'ref': {'name': 'int_patients_deduplicated'}}}) }}

with

counts as (

    select
        (select count(*) from {{ source('ehr', 'ehr__patient') }}) as bronze_rows,
        (select count(*) from {{ ref('stg_ehr__patients') }}) as staged_rows,
        (select count(*) from {{ ref('quarantine_ehr__patients') }}) as quarantined_rows,
        (select coalesce(sum(versions_seen), 0) from {{ ref('int_patients_deduplicated') }}) as deduplicated_versions

)

select *
from counts
where bronze_rows <> staged_rows
   or staged_rows <> quarantined_rows + deduplicated_versions
