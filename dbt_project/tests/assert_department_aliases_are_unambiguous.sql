-- ============================================================================
-- The department_aliases seed is matched on trimmed text (stg_adt__events):
-- two aliases must not collide once trimmed, and no alias may shadow a
-- canonical department name of hospital_departments (it would never be
-- used, and the typo would go unflagged). Returns every offending alias.
-- ============================================================================

-- shown in Dagster as a check on department_aliases
{{ config(meta={'dagster': {'ref': {'name': 'department_aliases'}}}) }}

with

aliases as (

    select trim(alias) as trimmed_alias, count(*) as aliases
    from {{ ref('department_aliases') }}
    group by trim(alias)

),

canonical as (

    select distinct department from {{ ref('hospital_departments') }}

)

select aliases.trimmed_alias, aliases.aliases
from aliases
left join canonical
    on canonical.department = aliases.trimmed_alias
where aliases.aliases > 1
   or canonical.department is not null
