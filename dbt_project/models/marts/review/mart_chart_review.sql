-- ============================================================================
-- mart_chart_review
-- One row per completed encounter with its deterministic chart-review
-- sampling decision. A PATIENT is sampled (all of their encounters) when
--     md5(sample_key) read as one unsigned 128-bit integer, mod 100
-- is below the sample rate in force (bronze.carehouse__sample_rate_changes,
-- 10 until changed); sample_key = '<source_system>:<patient id>'.
-- Same patient and rate, same answer, every run. Reference: warehouse/sampling.py.
-- sampled_at_* come from mart_chart_review_decisions: the rate the encounter
-- was first sampled with, which a later rate change does not rewrite.
-- ============================================================================

with

encounters as (

    select * from {{ ref('int_encounters_bucketed') }}

),

rate_in_force as (

    {{ sample_rate_in_force() }}

),

decisions as (

    select * from {{ ref('mart_chart_review_decisions') }}

),

final as (

    select
        encounters.source_system,
        encounters.source_encounter_id,
        encounters.encounter_key,
        encounters.patient_key,
        encounters.encounter_date,
        encounters.sample_key,
        encounters.sample_bucket,

        ---------- today's decision, at the rate in force
        encounters.sample_bucket < rate_in_force.sample_rate_pct as is_sampled,
        rate_in_force.sample_rate_pct,
        rate_in_force.sample_rate_change_id,

        ---------- the first decision that sampled this encounter (null: never sampled)
        decisions.sampled_at_rate_pct,
        decisions.sampled_at_rate_change_id,

        cast('{{ sampling_method() }}' as {{ dbt.type_string() }}) as sampling_method
    from encounters
    cross join rate_in_force
    left join decisions
        on decisions.encounter_key = encounters.encounter_key

)

select * from final
