-- ============================================================================
-- Stays and spells agree: an open stay has exactly one open (current) spell
-- in int_adt_stay_movements, a closed stay none, and every stay has at least
-- one spell. Returns the stays that disagree.
-- ============================================================================

-- shown in Dagster as a check on int_adt_stay_movements
{{ config(meta={'dagster': {'ref': {'name': 'int_adt_stay_movements'}}}) }}

with

spells as (

    select
        stay_key,
        count(*) as spells,
        sum(case when is_current then 1 else 0 end) as current_spells
    from {{ ref('int_adt_stay_movements') }}
    group by stay_key

)

select
    stays.stay_key,
    stays.is_open,
    coalesce(spells.spells, 0) as spells,
    coalesce(spells.current_spells, 0) as current_spells
from {{ ref('int_adt_stays') }} as stays
left join spells
    on spells.stay_key = stays.stay_key
where coalesce(spells.spells, 0) = 0
   or coalesce(spells.current_spells, 0) <> case when stays.is_open then 1 else 0 end
