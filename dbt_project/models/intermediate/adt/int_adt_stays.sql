-- ============================================================================
-- int_adt_stays
-- One row per hospital stay (stay_id = the admission's event_id) from the
-- de-duplicated usable ADT events: the admission paired with its discharge
-- by stay_id, transfers counted, the current (last known) department.
--   anchor event   the stay's ADMISSION, or its earliest event when the
--                  admission is missing or quarantined. The patient as
--                  admitted -- age, gender, insurance -- and the vitals at
--                  admission are the anchor's own (an age nulled as
--                  INVALID_AGE stays null: what the admission said is fixed
--                  once seen, so the patient history built on it is never
--                  rewritten). Patient id, hospital, priority and diagnosis
--                  fall back to the stay's other events when the anchor
--                  lacks them (the hospital, last, to the anchor's bed id).
--   admitted_at    the anchor's (corrected) admission time, else the
--                  earliest admission time of the stay, else its first event.
--   discharged_at  the (corrected) discharge time of the stay's first
--                  DISCHARGE event; null while the stay is open AND when the
--                  discharge was nulled (DISCHARGE_BEFORE_ADMISSION): such a
--                  stay is closed (is_open false) with an unknown discharge
--                  time; released_at = discharge time, else the time the
--                  discharge event was recorded, frees the bed.
--   length_of_stay_minutes/_seconds = discharged_at - admitted_at, measured in UTC.
--   _dq_flags      every flag raised on any of the stay's events, quarantined
--                  ones included (in adt_event_rules order): a stay without
--                  flags is clean.
--   _dlt_load_id   the newest bronze load among the stay's records
--                  (quarantined ones and re-sent copies included).
-- Incremental (delete+insert by stay_id): each build recomputes only the
-- stays that records of new bronze loads belong to, from all their events and
-- records; _dlt_load_id is the watermark. A stay never disappears.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key='stay_id',
    indexes=[load_id_index(), {'columns': ['stay_id']}],
) }}

{% set touched_stays %}
    select stay_id from {{ ref('stg_adt__events') }}
    where stay_id is not null
        and {{ new_since_watermark() }}
{% endset %}

{% set rules = adt_event_rules() %}
{#- the stay's flags: a rule fired on the stay when it fired on any of its events -#}
{% set stay_rules = [] %}
{% for rule in rules %}
    {% do stay_rules.append({'name': rule.name, 'when': 'has_' ~ rule.name ~ ' = 1'}) %}
{% endfor %}

with

events as (

    select * from {{ ref('int_adt_events_deduplicated') }}
    {% if incremental_build() %}
    where stay_id in ({{ touched_stays }})
    {% endif %}

),

-- flags of every event of the stay, quarantined ones included (first record per event_id)
all_event_records as (

    select
        stay_id,
        event_id,
        kafka_partition,
        kafka_offset,
        source_file,
        line_number,
        _dq_flags,
        quarantine_reason,
        _dlt_load_id
    from {{ ref('stg_adt__events') }}
    where stay_id is not null
        {% if incremental_build() %}
        and stay_id in ({{ touched_stays }})
        {% endif %}

),

first_event_records as (

    select *
    from (
        select
            all_event_records.*,
            {{ adt_event_record_rank() }} as record_rank
        from all_event_records
    ) as ranked
    where record_rank = 1

),

stay_loads as (

    select
        stay_id,
        max({{ load_id_number('_dlt_load_id') }}) as last_load_id
    from all_event_records
    group by stay_id

),

stay_flags as (

    select
        stay_id,
        {% for rule in rules -%}
        max(case when {{ adt_flag_fired('_dq_flags', rule.name) }} then 1 else 0 end) as has_{{ rule.name }},
        {% endfor -%}
        sum(case when quarantine_reason is not null then 1 else 0 end) as quarantined_events
    from first_event_records
    group by stay_id

),

-- every event carries its stay's anchor rank, last known department and first discharge
-- (window functions, not self-joins: the joins' row estimates made them nested loops)
ordered as (

    select
        events.*,
        row_number() over (
            partition by stay_id
            order by case when event_type = 'ADMISSION' then 0 else 1 end, event_at, kafka_partition, kafka_offset
        ) as anchor_rank,
        first_value(department) over (
            partition by stay_id
            order by case when department is null then 1 else 0 end, event_at desc, kafka_partition desc, kafka_offset desc
        ) as last_department,
        first_value(event_type) over first_discharge = 'DISCHARGE' as has_discharge,
        first_value(discharged_at) over first_discharge as first_discharged_at,
        first_value(event_at) over first_discharge as first_discharge_event_at
    from events
    window first_discharge as (
        partition by stay_id
        order by case when event_type = 'DISCHARGE' then 0 else 1 end, event_at, kafka_partition, kafka_offset
    )

),

anchors as (

    select
        ordered.*,
        case when has_discharge then first_discharged_at end as stay_discharged_at,
        case when has_discharge then first_discharge_event_at end as discharge_recorded_at
    from ordered
    where anchor_rank = 1

),

stay_totals as (

    select
        stay_id,
        max(patient_id) as patient_id,
        max(hospital_id) as hospital_id,
        max(admission_priority) as admission_priority,
        max(diagnosis_code) as diagnosis_code,
        min(admitted_at) as earliest_admitted_at,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        count(*) as events,
        sum(case when event_type = 'TRANSFER' then 1 else 0 end) as transfer_count,
        sum(duplicate_records) as duplicate_records
    from events
    group by stay_id

),

stays as (

    select
        ---------- ids
        anchors.stay_id,
        coalesce(anchors.patient_id, stay_totals.patient_id) as patient_id,

        ---------- patient as admitted (the anchor's own values)
        anchors.age,
        anchors.gender,
        anchors.insurance_type,

        ---------- place
        -- the bed id names the true hospital even when hospital_id was invalid on every event
        coalesce(anchors.hospital_id, stay_totals.hospital_id, anchors.bed_hospital_id) as hospital_id,
        case when anchors.event_type = 'ADMISSION' then anchors.department end as admitting_department,
        anchors.last_department as current_department,

        ---------- times
        coalesce(anchors.admitted_at, stay_totals.earliest_admitted_at, stay_totals.first_event_at) as admitted_at,
        anchors.stay_discharged_at as discharged_at,
        anchors.discharge_recorded_at,
        coalesce(anchors.stay_discharged_at, anchors.discharge_recorded_at) as released_at,
        not anchors.has_discharge as is_open,
        stay_totals.last_event_at,

        ---------- clinical
        coalesce(anchors.admission_priority, stay_totals.admission_priority) as admission_priority,
        coalesce(anchors.diagnosis_code, stay_totals.diagnosis_code) as diagnosis_code,
        anchors.event_type as anchor_event_type,
        anchors.heart_rate,
        anchors.bp_systolic,
        anchors.bp_diastolic,
        anchors.o2_saturation,
        anchors.temperature_c,

        ---------- counts
        stay_totals.events,
        stay_totals.transfer_count,
        stay_totals.duplicate_records,
        coalesce(stay_flags.quarantined_events, 0) as quarantined_events,

        ---------- flags of all of the stay's events
        {% for rule in rules -%}
        coalesce(stay_flags.has_{{ rule.name }}, 0) as has_{{ rule.name }},
        {% endfor %}

        ---------- lineage
        cast(stay_loads.last_load_id as {{ dbt.type_string() }}) as _dlt_load_id

    from anchors
    inner join stay_totals
        on stay_totals.stay_id = anchors.stay_id
    left join stay_flags
        on stay_flags.stay_id = anchors.stay_id
    left join stay_loads
        on stay_loads.stay_id = anchors.stay_id

),

final as (

    select
        ---------- keys
        {{ surrogate_key(["'adt'", 'stay_id']) }} as stay_key,
        {{ optional_surrogate_key('patient_id', ["'adt'", 'patient_id']) }} as patient_key,

        ---------- ids
        stay_id,
        patient_id,

        ---------- patient at admission
        age,
        gender,
        insurance_type,

        ---------- place
        hospital_id,
        admitting_department,
        current_department,

        ---------- times
        admitted_at,
        discharged_at,
        discharge_recorded_at,
        released_at,
        is_open,
        last_event_at,

        ---------- measures (elapsed time, measured in UTC so DST cannot skew it)
        cast({{ dbt.datediff(to_utc_timestamp('admitted_at'), to_utc_timestamp('discharged_at'), 'minute') }}
            as {{ dbt.type_bigint() }}) as length_of_stay_minutes,
        -- exact elapsed seconds (event times are whole seconds): LOS = discharge - admission
        cast({{ dbt.datediff(to_utc_timestamp('admitted_at'), to_utc_timestamp('discharged_at'), 'second') }}
            as {{ dbt.type_bigint() }}) as length_of_stay_seconds,
        cast(transfer_count as {{ dbt.type_int() }}) as transfer_count,
        cast(events as {{ dbt.type_int() }}) as events,
        cast(duplicate_records as {{ dbt.type_int() }}) as duplicate_records,
        cast(quarantined_events as {{ dbt.type_int() }}) as quarantined_events,

        ---------- clinical
        admission_priority,
        diagnosis_code,
        anchor_event_type,
        heart_rate,
        bp_systolic,
        bp_diastolic,
        o2_saturation,
        temperature_c,

        ---------- data quality
        {{ dq_flags(stay_rules) }} as _dq_flags,

        ---------- lineage
        _dlt_load_id

    from stays

)

select * from final
