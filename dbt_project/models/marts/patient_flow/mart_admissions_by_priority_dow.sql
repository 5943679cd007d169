-- ============================================================================
-- mart_admissions_by_priority_dow
-- Admissions (stays) by admission priority (Emergency, Urgent, Elective;
-- 'unknown' when not sent) and day of the week of the admission (hospital
-- time zone, from gold.dim_date), with each day's share of the priority's
-- admissions. One row per priority and weekday with admissions.
-- ============================================================================

with

stays as (

    select
        coalesce(admission_priority, 'unknown') as admission_priority,
        admission_date_key
    from {{ ref('fct_patient_flow') }}

),

counted as (

    select
        stays.admission_priority,
        dates.iso_day_of_week,
        dates.day_of_week_label,
        count(*) as admissions
    from stays
    inner join {{ ref('dim_date') }} as dates
        on dates.date_key = stays.admission_date_key
    group by stays.admission_priority, dates.iso_day_of_week, dates.day_of_week_label

),

final as (

    select
        admission_priority,
        iso_day_of_week,
        day_of_week_label,
        cast(admissions as {{ dbt.type_int() }}) as admissions,
        cast(round(100.0 * admissions / sum(admissions) over (partition by admission_priority), 2) as {{ dbt.type_numeric() }}) as share_of_priority_pct
    from counted

)

select * from final
