-- ============================================================================
-- adt_dq_flag_counts
-- How many ADT events each data-quality rule flagged, plus DUPLICATE_EVENT:
-- the records dropped as re-sent duplicates. One row per flag of
-- adt_event_rules (zero included) and one for DUPLICATE_EVENT.
-- Events are counted once: the first record per event_id (macro
-- adt_event_record_rank) over ALL staged records, quarantined ones included
-- (an event quarantined as UNRECOVERABLE_EVENT_TYPE still counts), so a
-- duplicate of a dirty event adds one DUPLICATE_EVENT and nothing else.
-- For the simulator's manifest these equal the injected counts per scenario
-- (MISSING_FIELD = MISSING_PATIENT_ID + MISSING_EVENT_TYPE + MISSING_DEPARTMENT).
-- Stays a table: a handful of counts over every staged record.
-- ============================================================================

{% set rules = adt_event_rules() %}

with

staged as (

    select event_id, kafka_partition, kafka_offset, source_file, line_number, _dq_flags
    from {{ ref('stg_adt__events') }}

),

ranked as (

    select
        staged.*,
        {{ adt_event_record_rank() }} as record_rank
    from staged

),

events as (

    select * from ranked
    where record_rank = 1

),

final as (

    {% for rule in rules -%}
    select
        cast('{{ rule.name | upper }}' as {{ dbt.type_string() }}) as flag,
        cast(coalesce(sum(case when {{ adt_flag_fired('_dq_flags', rule.name) }} then 1 else 0 end), 0) as {{ dbt.type_bigint() }}) as events
    from events

    union all

    {% endfor -%}
    select
        cast('DUPLICATE_EVENT' as {{ dbt.type_string() }}) as flag,
        cast(count(*) as {{ dbt.type_bigint() }}) as events
    from ranked
    where record_rank > 1

)

select * from final
