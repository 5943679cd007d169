-- ============================================================================
-- Average performed procedures per completed encounter, overall and by
-- encounter class (the visit's own E/M code counts as a procedure).
-- ============================================================================

select
    coalesce(encounter_class_code, 'all classes') as encounter_class,
    count(*) as encounters,
    sum(num_procedures) as procedures,
    round(avg(cast(num_procedures as numeric)), 2) as avg_procedures_per_encounter
from {{ ref('fct_encounters') }}
group by rollup (encounter_class_code)
order by encounter_class_code nulls first
