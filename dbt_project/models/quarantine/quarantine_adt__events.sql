-- ============================================================================
-- quarantine_adt__events
-- Every staged ADT record that cannot be used (quarantine_reason is not
-- null: no event id, an unknown or unrecoverable event type, no stay id, no
-- or an unparseable event time), with the reason, all flags and the bronze
-- lineage that locates the raw record (source_file + line_number, or the
-- broker's partition + offset). Nothing is dropped silently:
-- count(bronze) = count(this) + sum(1 + int_adt_events_deduplicated.duplicate_records).
-- Incremental: each build appends the quarantined staged rows of loads
-- newer than the greatest _dlt_load_id already here.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index()],
) }}

with

staged as (

    select * from {{ ref('stg_adt__events') }}

),

final as (

    select
        ---------- why
        quarantine_reason,
        _dq_flags,

        ---------- what (as far as it could be read)
        event_id,
        stay_id,
        patient_id,
        raw_event_type,
        event_type,
        raw_event_time,
        event_at,
        hospital_id,
        department,

        ---------- broker envelope
        topic,
        kafka_partition,
        kafka_offset,
        produced_at,

        ---------- bronze lineage
        tenant,
        environment,
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from staged
    where quarantine_reason is not null
        and {{ incremental_load_filter() }}

)

select * from final
