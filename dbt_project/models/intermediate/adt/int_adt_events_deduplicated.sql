-- ============================================================================
-- int_adt_events_deduplicated
-- One row per event_id among USABLE staged ADT records (quarantine_reason is
-- null). The feed may re-send an event with the same event_id and a new
-- offset: the first record (lowest partition, then offset -- macro
-- adt_event_record_rank) is kept, the others are dropped and counted in
-- duplicate_records. Flags and corrections of staging are kept as they are.
-- Incremental (delete+insert by event_id): each build recomputes only the
-- events that records of new bronze loads carry, from all their usable
-- records (a re-sent copy may precede the kept one, and raises
-- duplicate_records). An event never disappears: usable records only add up.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key='event_id',
    indexes=[load_id_index(), {'columns': ['event_id']}, {'columns': ['stay_id']}],
) }}

with

usable as (

    select * from {{ ref('stg_adt__events') }}
    where quarantine_reason is null
        {% if incremental_build() %}
        and event_id in (
            select event_id from {{ ref('stg_adt__events') }}
            where {{ new_since_watermark() }}
        )
        {% endif %}

),

ranked as (

    select
        usable.*,
        {{ adt_event_record_rank() }} as record_rank,
        count(*) over (partition by event_id) as records_received
    from usable

),

final as (

    select
        ---------- ids
        event_id,
        stay_id,
        patient_id,

        ---------- event
        event_type,
        event_at,

        ---------- patient
        age,
        gender,
        insurance_type,

        ---------- place
        hospital_id,
        department,
        from_department,
        bed_id,
        bed_hospital_id,

        ---------- stay
        admitted_at,
        discharged_at,
        admission_priority,
        diagnosis_code,

        ---------- vitals
        heart_rate,
        bp_systolic,
        bp_diastolic,
        o2_saturation,
        temperature_c,

        ---------- data quality
        _dq_flags,
        cast(records_received - 1 as {{ dbt.type_int() }}) as duplicate_records,

        ---------- broker position and lineage of the kept record
        kafka_partition,
        kafka_offset,
        produced_at,
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from ranked
    where record_rank = 1

)

select * from final
