-- ============================================================================
-- int_adt_stay_movements
-- Where each patient was, and when: one row per stay and department spell.
-- Every ADMISSION and TRANSFER event of a stay opens a spell in its
-- department; a spell ends where the next one starts, the last one when the
-- stay releases its bed (int_adt_stays.released_at), and stays open (ended_at
-- null) while the stay is open. The first spell starts at the stay's
-- admission time, also when the ADMISSION event itself is missing (the
-- first department heard of is taken for the time before it); a stay of
-- which only the DISCHARGE arrived gets one spell in the department it was
-- discharged from. Spells cover the stay without gaps or overlaps: the
-- basis of current occupancy and the midnight census.
-- Incremental (delete+insert by stay_id): each build recomputes the spells of
-- the stays int_adt_stays recomputed since (their _dlt_load_id, the newest
-- load among the stay's records, is newer than the newest one here), from all
-- their events. A stay keeps at least one spell.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key='stay_id',
    indexes=[load_id_index(), {'columns': ['stay_id']}],
) }}

with

stays as (

    select stay_id, stay_key, hospital_id, admitted_at, released_at, _dlt_load_id
    from {{ ref('int_adt_stays') }}
    where {{ new_since_watermark() }}

),

events as (

    select * from {{ ref('int_adt_events_deduplicated') }}
    {% if incremental_build() %}
    where stay_id in (select stay_id from stays)
    {% endif %}

),

sequenced as (

    select
        events.*,
        sum(case when event_type in ('ADMISSION', 'TRANSFER') then 1 else 0 end)
            over (partition by stay_id) as stay_movement_events,
        row_number() over (
            partition by stay_id
            order by event_at, kafka_partition, kafka_offset
        ) as event_sequence
    from events

),

movement_events as (

    select * from sequenced
    where event_type in ('ADMISSION', 'TRANSFER')
       -- only the discharge arrived: it tells where the patient was
       or (stay_movement_events = 0 and event_sequence = 1)

),

numbered as (

    select
        movement_events.*,
        row_number() over (
            partition by stay_id
            order by event_at, kafka_partition, kafka_offset
        ) as movement_number,
        lead(event_at) over (
            partition by stay_id
            order by event_at, kafka_partition, kafka_offset
        ) as next_movement_at
    from movement_events

),

spells as (

    select
        numbered.event_id,
        numbered.stay_id,
        stays.stay_key,
        numbered.movement_number,
        numbered.event_type as movement_type,
        coalesce(numbered.hospital_id, stays.hospital_id) as hospital_id,
        numbered.department,
        numbered.bed_id,
        case
            when numbered.movement_number = 1 then stays.admitted_at
            else numbered.event_at
        end as started_at,
        coalesce(numbered.next_movement_at, stays.released_at) as ended_at,
        numbered.next_movement_at is null and stays.released_at is not null as ends_with_discharge,
        stays._dlt_load_id
    from numbered
    inner join stays
        on stays.stay_id = numbered.stay_id

),

final as (

    select
        ---------- keys
        {{ surrogate_key(["'adt'", 'event_id']) }} as movement_key,
        stay_key,
        {{ adt_department_key('hospital_id', 'department') }} as department_key,

        ---------- ids
        event_id,
        stay_id,

        ---------- the spell
        cast(movement_number as {{ dbt.type_int() }}) as movement_number,
        movement_type,
        hospital_id,
        department,
        bed_id,
        started_at,
        ended_at,
        ended_at is null as is_current,
        ends_with_discharge,

        ---------- measures (UTC, so DST cannot skew them)
        cast({{ dbt.datediff(to_utc_timestamp('started_at'), to_utc_timestamp('ended_at'), 'minute') }}
            as {{ dbt.type_bigint() }}) as minutes_in_department,

        ---------- lineage (the newest load among the stay's records)
        _dlt_load_id

    from spells

)

select * from final
