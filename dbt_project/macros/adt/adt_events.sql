{#- ===========================================================================
    The ADT (admission / transfer / discharge) event feed: its data-quality
    rules, its duplicate rule and its clock. One place for each, shared by
    stg_adt__events, int_adt_events_deduplicated, adt_dq_flag_counts and
    int_adt_stays.
=========================================================================== -#}


{#- ---------------------------------------------------------------------------
    adt_event_rules(): the rule list of stg_adt__events, for dq_flags() /
    quarantine_reason(). Conditions read the columns of its `corrected` CTE:
    raw_* = the value as sent (trimmed text), the unprefixed column = the
    typed, corrected value.

    One rule per simulator scenario, each correcting the value and saying so
    (never a silent fix):
      FUTURE_ADMISSION            admission_time > event_time -> event time
      INVALID_AGE                 not an integer 0..120       -> null
      DISCHARGE_BEFORE_ADMISSION  discharge < (corrected) admission -> discharge null
      DEPT_TYPO                   an alias of the department_aliases seed -> canonical name
      INVALID_HOSPITAL            not a hospital of the hospital_departments seed -> null
      MISSING_EVENT_TYPE          recovered from the event's shape (event_id =
                                  stay_id: ADMISSION; from_department: TRANSFER;
                                  discharge_time: DISCHARGE); quarantined only
                                  when none applies (UNRECOVERABLE_EVENT_TYPE)
      MISSING_PATIENT_ID          recovered from the broker key (the patient id)
      MISSING_DEPARTMENT          recovered from the bed id's department code
                                  ('H3-SUR-15' -> Surgery); null without one
    Structural defects (no event id, an unknown event type, no stay id, no or
    an unparseable event time) make an event unusable: quarantined. The rest
    (defects the simulator does not inject) are flagged only.
    Flag names are the rule names upper-cased, in this order in _dq_flags;
    adt_dq_flag_counts counts each.
--------------------------------------------------------------------------- -#}
{% macro adt_event_rules() -%}
    {{ return([
        {'name': 'missing_event_id', 'quarantine': true,
         'when': "event_id is null"},
        {'name': 'missing_event_type', 'quarantine': false,
         'when': "raw_event_type is null"},
        {'name': 'invalid_event_type', 'quarantine': true,
         'when': "raw_event_type not in ('ADMISSION', 'TRANSFER', 'DISCHARGE')"},
        {'name': 'unrecoverable_event_type', 'quarantine': true,
         'when': "raw_event_type is null and event_type is null"},
        {'name': 'missing_stay_id', 'quarantine': true,
         'when': "stay_id is null"},
        {'name': 'missing_event_time', 'quarantine': true,
         'when': "raw_event_time is null"},
        {'name': 'unparseable_event_time', 'quarantine': true,
         'when': "raw_event_time is not null and event_at is null"},

        {'name': 'future_admission', 'quarantine': false,
         'when': "admission_time_sent > event_at"},
        {'name': 'invalid_age', 'quarantine': false,
         'when': "raw_age is not null and age is null"},
        {'name': 'discharge_before_admission', 'quarantine': false,
         'when': "discharge_time_sent < admitted_at"},
        {'name': 'dept_typo', 'quarantine': false,
         'when': "raw_department is not null and department is not null and department <> raw_department"},
        {'name': 'invalid_hospital', 'quarantine': false,
         'when': "raw_hospital_id is not null and hospital_id is null"},
        {'name': 'missing_patient_id', 'quarantine': false,
         'when': "raw_patient_id is null"},
        {'name': 'missing_department', 'quarantine': false,
         'when': "raw_department is null"},

        {'name': 'unknown_department', 'quarantine': false,
         'when': "raw_department is not null and department is null"},
        {'name': 'missing_hospital', 'quarantine': false,
         'when': "raw_hospital_id is null"},
        {'name': 'missing_admission_time', 'quarantine': false,
         'when': "raw_admission_time is null"},
        {'name': 'unparseable_admission_time', 'quarantine': false,
         'when': "raw_admission_time is not null and admission_time_sent is null"},
        {'name': 'missing_discharge_time', 'quarantine': false,
         'when': "event_type = 'DISCHARGE' and raw_discharge_time is null"},
        {'name': 'unparseable_discharge_time', 'quarantine': false,
         'when': "raw_discharge_time is not null and discharge_time_sent is null"},
        {'name': 'unparseable_vitals', 'quarantine': false,
         'when': "(raw_heart_rate is not null and heart_rate is null)"
              ~ " or (raw_bp_systolic is not null and bp_systolic is null)"
              ~ " or (raw_bp_diastolic is not null and bp_diastolic is null)"
              ~ " or (raw_o2_saturation is not null and o2_saturation is null)"
              ~ " or (raw_temperature_c is not null and temperature_c is null)"},
    ]) }}
{%- endmacro %}


{#- ---------------------------------------------------------------------------
    adt_flag_fired(flags_column, rule_name): true when the pipe-separated
    flags column names the rule (exact name, not a prefix: MISSING_DEPARTMENT
    does not match MISSING_DEPARTMENT_X); false for a null column.
--------------------------------------------------------------------------- -#}
{% macro adt_flag_fired(flags_column, rule_name) -%}
    ({{ dbt.position("'|" ~ rule_name | upper ~ "|'", dbt.concat(["'|'", "coalesce(" ~ flags_column ~ ", '')", "'|'"])) }} > 0)
{%- endmacro %}


{#- ---------------------------------------------------------------------------
    adt_event_record_rank(): the one rule for duplicate events. The same
    event_id re-sent (with a new partition / offset) is a duplicate: the
    record the broker received first -- lowest partition, then lowest offset
    (then bronze file and line, for determinism) -- is kept (rank 1), every
    later one dropped and counted. Expects kafka_partition, kafka_offset,
    source_file and line_number. Rows without an event_id are never
    duplicates of each other (each ranks 1).
--------------------------------------------------------------------------- -#}
{% macro adt_event_record_rank() -%}
    case
        when event_id is null then 1
        else row_number() over (
            partition by event_id
            order by kafka_partition, kafka_offset, source_file, line_number
        )
    end
{%- endmacro %}


{#- ---------------------------------------------------------------------------
    hospital_time_zone(): the IANA time zone of the hospitals (var
    hospital_time_zone, default America/New_York: all seven are on US
    Eastern time). ADT event times arrive in UTC; calendar days, midnight
    census and days of the week are taken in this zone.
--------------------------------------------------------------------------- -#}
{% macro hospital_time_zone() -%}
    {%- set time_zone = var('hospital_time_zone', 'America/New_York') | string | trim -%}
    {%- if not modules.re.match('^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$', time_zone) -%}
        {{ exceptions.raise_compiler_error("var hospital_time_zone must be an IANA time zone name, got '" ~ time_zone ~ "'") }}
    {%- endif -%}
    {{ return(time_zone) }}
{%- endmacro %}


{#- ---------------------------------------------------------------------------
    adt_department_key(hospital, department): surrogate key of a hospital
    department (gold.dim_department.department_key): keyed hash of
    hospital number|canonical department name. Null when either is unknown,
    so a fact never points at a department that does not exist.
--------------------------------------------------------------------------- -#}
{% macro adt_department_key(hospital, department) -%}
    case
        when ({{ hospital }}) is not null and ({{ department }}) is not null
            then {{ carehouse.surrogate_key([hospital, department]) }}
    end
{%- endmacro %}
