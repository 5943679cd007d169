-- ============================================================================
-- cdm_observations
-- Common data model: one row per OBSERVED VALUE of either EHR. An observation
-- with a value of its own (or with neither value nor components) is one row;
-- each component of a panel is a row of its own, with its own LOINC code,
-- value, unit, reference range and interpretation, and panel_code = the
-- panel's code. So a blood pressure (panel 85354-9) gives two rows, systolic
-- 8480-6 and diastolic 8462-4, and "average systolic pressure" is a filter on
-- one code. component_position: the component's 1-based position; null for
-- the observation's own value.
--
-- Abnormal flag (is_abnormal, abnormal_direction, abnormal_flag_source):
--   1. the interpretation the source sent (HL7 v3 ObservationInterpretation):
--      N = normal; H, HH, HU = high; L, LL, LU = low; A, AA = abnormal;
--   2. otherwise the reference range: value below low -> low, above high ->
--      high, else normal; only when the range is in the value's unit (UCUM
--      code) or states none;
--   3. otherwise unknown (null).
-- is_countable is false for observations the source retracted or never
-- made (status entered-in-error, cancelled): gold leaves them out.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'observation_id'],
    indexes=[{'columns': ['source_system', 'observation_id']}, load_id_index()],
) }}

{% set high_codes = ['H', 'HH', 'HU'] %}
{% set low_codes = ['L', 'LL', 'LU'] %}
{% set abnormal_codes = ['A', 'AA'] + high_codes + low_codes %}

with

observations as (

    -- incremental: the keys int_observations_deduplicated recomputed in the same build
    select deduplicated.*
    from {{ ref('int_observations_deduplicated') }} as deduplicated
    {{ touched_keys_join('deduplicated', ref('stg_ehr__observations'), ['source_system', 'observation_id'], ehr_references('observations')) }}

),

own_values as (

    select
        observations.*,
        cast(null as {{ dbt.type_int() }}) as component_position,
        cast(null as {{ dbt.type_string() }}) as panel_code,
        observation_code_system as result_code_system,
        observation_code as result_code,
        observation_display as result_display,
        interpretation_code as result_interpretation_code,
        value_numeric as result_value_numeric,
        value_comparator as result_value_comparator,
        value_unit as result_value_unit,
        value_unit_code as result_value_unit_code,
        value_code as result_value_code,
        value_display as result_value_display,
        reference_range_low as result_range_low,
        reference_range_high as result_range_high,
        reference_range_unit_code as result_range_unit_code
    from observations
    where coalesce(component_count, 0) = 0
        or value_numeric is not null
        or value_code is not null

),

component_values as (

    select
        observations.*,
        cast(component_position as {{ dbt.type_int() }}) as component_position,
        observations.observation_code as panel_code,
        {{ fhir_preferred_coding('component', ['code'], ['http://loinc.org'], 'system') }} as result_code_system,
        {{ fhir_preferred_coding('component', ['code'], ['http://loinc.org'], 'code') }} as result_code,
        {{ fhir_preferred_coding('component', ['code'], ['http://loinc.org'], 'display') }} as result_display,
        {{ json_text('component', ['interpretation', 0, 'coding', 0, 'code']) }} as result_interpretation_code,
        {{ safe_cast_numeric(json_text('component', ['valueQuantity', 'value'])) }} as result_value_numeric,
        {{ json_text('component', ['valueQuantity', 'comparator']) }} as result_value_comparator,
        {{ json_text('component', ['valueQuantity', 'unit']) }} as result_value_unit,
        {{ json_text('component', ['valueQuantity', 'code']) }} as result_value_unit_code,
        {{ json_text('component', ['valueCodeableConcept', 'coding', 0, 'code']) }} as result_value_code,
        {{ json_text('component', ['valueCodeableConcept', 'coding', 0, 'display']) }} as result_value_display,
        {{ safe_cast_numeric(json_text('component', ['referenceRange', 0, 'low', 'value'])) }} as result_range_low,
        {{ safe_cast_numeric(json_text('component', ['referenceRange', 0, 'high', 'value'])) }} as result_range_high,
        coalesce(
            {{ json_text('component', ['referenceRange', 0, 'low', 'code']) }},
            {{ json_text('component', ['referenceRange', 0, 'high', 'code']) }}
        ) as result_range_unit_code
    from observations
    {{ json_array_rows('observations.components', 'component', 'component_position') }}

),

results as (

    select * from own_values
    union all
    select * from component_values

),

flagged as (

    select
        results.*,
        case
            when result_interpretation_code in ('{{ abnormal_codes | join("', '") }}', 'N') then 'interpretation'
            when result_value_numeric is not null
                and (result_range_low is not null or result_range_high is not null)
                and (result_range_unit_code is null or result_value_unit_code is null
                     or result_range_unit_code = result_value_unit_code)
                then 'reference_range'
        end as abnormal_flag_source
    from results

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['source_system', 'observation_id', 'component_position']) }} as observation_key,
        {{ surrogate_key(['source_system', 'observation_id']) }} as observation_resource_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,
        {{ optional_surrogate_key('encounter_id', ['source_system', 'encounter_id']) }} as encounter_key,

        ---------- source ids
        source_system,
        observation_id,
        component_position,
        patient_id,
        encounter_id,

        ---------- codes
        observation_status,
        coalesce(observation_status, '') not in ('entered-in-error', 'cancelled') as is_countable,
        category_code,
        result_code_system as observation_code_system,
        result_code as observation_code,
        result_display as observation_display,
        panel_code,
        result_interpretation_code as interpretation_code,

        ---------- value, unit and reference range
        cast(result_value_numeric as {{ dbt.type_numeric() }}) as value_numeric,
        result_value_comparator as value_comparator,
        result_value_unit as value_unit,
        result_value_unit_code as value_unit_code,
        result_value_code as value_code,
        result_value_display as value_display,
        cast(result_range_low as {{ dbt.type_numeric() }}) as reference_range_low,
        cast(result_range_high as {{ dbt.type_numeric() }}) as reference_range_high,
        result_range_unit_code as reference_range_unit_code,

        ---------- abnormal flag
        case
            when abnormal_flag_source = 'interpretation'
                then result_interpretation_code in ('{{ abnormal_codes | join("', '") }}')
            when abnormal_flag_source = 'reference_range'
                then result_value_numeric < coalesce(result_range_low, result_value_numeric)
                    or result_value_numeric > coalesce(result_range_high, result_value_numeric)
        end as is_abnormal,
        case
            when abnormal_flag_source = 'interpretation' and result_interpretation_code in ('{{ high_codes | join("', '") }}') then 'high'
            when abnormal_flag_source = 'interpretation' and result_interpretation_code in ('{{ low_codes | join("', '") }}') then 'low'
            when abnormal_flag_source = 'reference_range' and result_value_numeric > result_range_high then 'high'
            when abnormal_flag_source = 'reference_range' and result_value_numeric < result_range_low then 'low'
        end as abnormal_direction,
        abnormal_flag_source,

        ---------- timestamps
        effective_at,
        effective_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,

        ---------- lineage: the winning version's load (the incremental watermark)
        _dlt_load_id

    from flagged

)

select * from final
