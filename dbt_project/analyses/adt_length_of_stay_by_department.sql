-- ============================================================================
-- Average length of stay per department across all hospitals (the
-- department the patient was discharged from), with the share of stays
-- that needed a transfer. Discharged stays with a known discharge time only.
-- ============================================================================

select
    departments.department,
    count(*) as discharged_stays,
    round(avg(stays.length_of_stay_hours), 1) as avg_length_of_stay_hours,
    round(100.0 * sum(case when stays.transfer_count > 0 then 1 else 0 end) / count(*), 1) as transferred_pct
from {{ ref('fct_patient_flow') }} as stays
inner join {{ ref('dim_department') }} as departments
    on departments.department_key = stays.department_key
where stays.length_of_stay_hours is not null
group by departments.department
order by avg_length_of_stay_hours desc
