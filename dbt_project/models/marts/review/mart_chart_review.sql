-- ============================================================================
-- mart_chart_review
-- One row per completed encounter with its deterministic chart-review
-- sampling decision. A PATIENT is sampled (all of their encounters) when
--     md5(sample_key) read as one unsigned 128-bit integer, mod 100
-- is below var('sample_rate_pct'); sample_key = '<source_system>:<patient id>'.
-- Same patient, same answer, every run. Reference: warehouse/sampling.py.
-- ============================================================================

with

completed as (

    select * from {{ ref('int_encounters_completed') }}

),

keyed as (

    select
        ---------- ids and keys
        source_system,
        encounter_id as source_encounter_id,
        {{ surrogate_key(['source_system', 'encounter_id']) }} as encounter_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,

        ---------- dates
        period_start_date as encounter_date,

        ---------- sampling key: the exact string that is hashed
        {{ dbt.concat(['source_system', "':'", 'patient_id']) }} as sample_key

    from completed

),

bucketed as (

    select
        keyed.*,
        {{ hash_bucket('sample_key', 100) }} as sample_bucket
    from keyed

),

final as (

    select
        source_system,
        source_encounter_id,
        encounter_key,
        patient_key,
        encounter_date,
        sample_key,
        sample_bucket,
        sample_bucket < {{ sample_rate_pct() }} as is_sampled,
        cast({{ sample_rate_pct() }} as {{ dbt.type_int() }}) as sample_rate_pct,
        cast('{{ sampling_method() }}' as {{ dbt.type_string() }}) as sampling_method
    from bucketed

)

select * from final
