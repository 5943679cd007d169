-- ============================================================================
-- stg_adt__events
-- One row per bronze ADT record: the envelope's event parsed against the
-- expected schema and typed, one rule per dirty-data scenario applied
-- (macro adt_event_rules), _dq_flags naming every rule that fired and
-- quarantine_reason (null = usable). Corrections are never silent: the
-- value as sent stays in the raw_* column and the flag says what changed.
--   future admission           -> admitted_at = event time
--   invalid age                -> age null
--   discharge before admission -> discharged_at null
--   department typo            -> canonical department (department_aliases seed)
--   invalid hospital           -> hospital_id null
--   missing event type         -> from the event's shape, else quarantined
--   missing patient id         -> the broker key (the feed keys by patient)
--   missing department         -> from the bed id ('H3-SUR-15': SUR = Surgery)
-- Never filters, never de-duplicates: count(stg) = count(bronze.adt__events).
-- Incremental: each build appends the records of the completed bronze loads
-- newer than the greatest _dlt_load_id here (--full-refresh: all completed
-- loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='append',
    indexes=[load_id_index(), {'columns': ['event_id']}, {'columns': ['stay_id']}],
) }}

{% set rules = adt_event_rules() %}

with

source as (

    select * from {{ source('adt', 'adt__events') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

departments as (

    select distinct department, department_code from {{ ref('hospital_departments') }}

),

hospitals as (

    select distinct hospital_id from {{ ref('hospital_departments') }}

),

department_aliases as (

    select alias, department from {{ ref('department_aliases') }}

),

renamed as (

    select
        ---------- ids (raw text)
        {{ json_text('record', ['event', 'event_id']) }} as event_id,
        {{ json_text('record', ['event', 'stay_id']) }} as stay_id,
        {{ json_text('record', ['event', 'patient_id']) }} as raw_patient_id,

        ---------- event
        {{ json_text('record', ['event', 'event_type']) }} as raw_event_type,
        {{ json_text('record', ['event', 'event_time']) }} as raw_event_time,

        ---------- patient (as sent)
        {{ json_text('record', ['event', 'age']) }} as raw_age,
        {{ json_text('record', ['event', 'gender']) }} as gender,
        {{ json_text('record', ['event', 'insurance_type']) }} as insurance_type,

        ---------- place (as sent)
        {{ json_text('record', ['event', 'hospital_id']) }} as raw_hospital_id,
        {{ json_text('record', ['event', 'department']) }} as raw_department,
        {{ json_text('record', ['event', 'from_department']) }} as from_department,
        {{ json_text('record', ['event', 'bed_id']) }} as bed_id,

        ---------- stay (as sent)
        {{ json_text('record', ['event', 'admission_time']) }} as raw_admission_time,
        {{ json_text('record', ['event', 'discharge_time']) }} as raw_discharge_time,
        {{ json_text('record', ['event', 'admission_priority']) }} as admission_priority,
        {{ json_text('record', ['event', 'diagnosis_code']) }} as diagnosis_code,

        ---------- vitals (as sent)
        {{ json_text('record', ['event', 'heart_rate']) }} as raw_heart_rate,
        {{ json_text('record', ['event', 'bp_systolic']) }} as raw_bp_systolic,
        {{ json_text('record', ['event', 'bp_diastolic']) }} as raw_bp_diastolic,
        {{ json_text('record', ['event', 'o2_saturation']) }} as raw_o2_saturation,
        {{ json_text('record', ['event', 'temperature_c']) }} as raw_temperature_c,

        ---------- broker envelope
        {{ json_text('record', ['key']) }} as message_key,
        topic,
        {{ adapter.quote('partition') }} as kafka_partition,
        {{ adapter.quote('offset') }} as kafka_offset,
        producer_time as produced_at,

        ---------- lineage
        tenant,
        environment,
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from source

),

typed {{ materialized_cte() }} (

    select
        renamed.*,

        ---------- timestamps
        {{ safe_cast_timestamptz('raw_event_time') }} as event_at,
        {{ safe_cast_timestamptz('raw_admission_time') }} as admission_time_sent,
        {{ safe_cast_timestamptz('raw_discharge_time') }} as discharge_time_sent,

        ---------- numbers
        {{ safe_cast_integer('raw_age') }} as age_sent,
        {{ safe_cast_integer('raw_hospital_id') }} as hospital_id_sent,
        {{ safe_cast_integer('raw_heart_rate') }} as heart_rate,
        {{ safe_cast_integer('raw_bp_systolic') }} as bp_systolic,
        {{ safe_cast_integer('raw_bp_diastolic') }} as bp_diastolic,
        {{ safe_cast_numeric('raw_o2_saturation') }} as o2_saturation,
        {{ safe_cast_numeric('raw_temperature_c') }} as temperature_c,

        ---------- event type: as sent when valid; when missing, what the event's shape says
        case
            when raw_event_type in ('ADMISSION', 'TRANSFER', 'DISCHARGE') then raw_event_type
            when raw_event_type is null then
                case
                    when event_id = stay_id then 'ADMISSION'
                    when from_department is not null then 'TRANSFER'
                    when raw_discharge_time is not null then 'DISCHARGE'
                end
        end as event_type,

        ---------- patient: as sent, else the broker key (the feed is keyed by patient id)
        coalesce(
            raw_patient_id,
            case when {{ regex_full_match('message_key', '^P[0-9]+$') }} then message_key end
        ) as patient_id,

        ---------- bed id 'H3-SUR-15': hospital number and department code
        case
            when {{ regex_full_match('bed_id', '^H[0-9]{1,9}-[A-Z]+-[0-9]+$') }}
                then {{ safe_cast_integer('substr(' ~ dbt.split_part('bed_id', "'-'", 1) ~ ', 2)') }}
        end as bed_hospital_sent,
        case
            when {{ regex_full_match('bed_id', '^H[0-9]{1,9}-[A-Z]+-[0-9]+$') }}
                then {{ dbt.split_part('bed_id', "'-'", 2) }}
        end as bed_department_code,

        ---------- department: canonical as sent, else the canonical name of a known alias
        -- (aliases match on trimmed text, as every json_text value is trimmed); when
        -- missing, the department of the bed's department code
        case
            when raw_department in (select department from departments) then raw_department
            when raw_department is not null then (
                select department_aliases.department
                from department_aliases
                where trim(department_aliases.alias) = renamed.raw_department
            )
        end as department_sent_or_alias

    from renamed

),

corrected as (

    select
        typed.*,

        -- MISSING_DEPARTMENT: the department of the bed's code
        coalesce(
            department_sent_or_alias,
            case
                when raw_department is null then (
                    select max(departments.department)
                    from departments
                    where departments.department_code = typed.bed_department_code
                )
            end
        ) as department,

        -- INVALID_AGE: outside 0..120 (or not an integer) -> null
        case when age_sent between 0 and 120 then age_sent end as age,
        -- INVALID_HOSPITAL: not a hospital of the seed (1-7) -> null
        case when hospital_id_sent in (select hospital_id from hospitals) then hospital_id_sent end as hospital_id,
        -- the bed's hospital, when a hospital of the seed (stays fall back to it)
        case when bed_hospital_sent in (select hospital_id from hospitals) then bed_hospital_sent end as bed_hospital_id,
        -- FUTURE_ADMISSION: admitted after the event that reports it -> the event time
        case
            when admission_time_sent > event_at then event_at
            else admission_time_sent
        end as admitted_at

    from typed

),

corrected_discharge as (

    select
        corrected.*,
        -- DISCHARGE_BEFORE_ADMISSION: before the (corrected) admission -> null
        case
            when discharge_time_sent < admitted_at then null
            else discharge_time_sent
        end as discharged_at
    from corrected

),

validated {{ materialized_cte() }} (

    select
        corrected_discharge.*,
        {{ dq_flags(rules) }} as _dq_flags,
        {{ quarantine_reason(rules) }} as quarantine_reason
    from corrected_discharge

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

        ---------- data quality: flags, reason, values as sent
        _dq_flags,
        quarantine_reason,
        raw_event_type,
        raw_event_time,
        raw_patient_id,
        raw_age,
        raw_hospital_id,
        raw_department,
        raw_admission_time,
        raw_discharge_time,

        ---------- broker envelope
        message_key,
        topic,
        kafka_partition,
        kafka_offset,
        produced_at,

        ---------- lineage
        tenant,
        environment,
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from validated

)

select * from final
