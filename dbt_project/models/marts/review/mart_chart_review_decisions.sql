-- ============================================================================
-- mart_chart_review_decisions
-- The history of chart-review sampling: one row per encounter, written by the
-- first build in which it was sampled, with the rate (and rate change) in
-- force then. Append-only and never fully refreshed: a later rate change adds
-- the encounters it newly samples but never rewrites a past decision.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    full_refresh=false,
) }}

with

encounters as (

    select * from {{ ref('int_encounters_bucketed') }}

),

rate_in_force as (

    {{ sample_rate_in_force() }}

),

sampled_now as (

    select
        encounters.encounter_key,
        encounters.sample_bucket,
        rate_in_force.sample_rate_pct as sampled_at_rate_pct,
        rate_in_force.sample_rate_change_id as sampled_at_rate_change_id
    from encounters
    cross join rate_in_force
    where encounters.sample_bucket < rate_in_force.sample_rate_pct

),

final as (

    select sampled_now.*
    from sampled_now
    {% if incremental_build() %}
    -- only encounters never sampled before: their first decision stays as it was
    left join {{ this }} as decided
        on decided.encounter_key = sampled_now.encounter_key
    where decided.encounter_key is null
    {% endif %}

)

select * from final
