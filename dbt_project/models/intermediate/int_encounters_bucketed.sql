-- ============================================================================
-- int_encounters_bucketed
-- Every completed encounter with its chart-review sampling bucket: the part
-- of the sampling decision that never depends on the rate. A PATIENT's bucket
-- is md5(sample_key) read as one unsigned 128-bit integer, mod 100, with
-- sample_key = '<source_system>:<patient id>'. Reference: warehouse/sampling.py.
-- The rate is applied in the review marts (mart_chart_review_decisions,
-- mart_chart_review), at the gold step, with the rate in force then.
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

final as (

    select
        keyed.*,
        {{ hash_bucket('sample_key', 100) }} as sample_bucket
    from keyed

)

select * from final
