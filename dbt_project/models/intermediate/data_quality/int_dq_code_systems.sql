-- ============================================================================
-- int_dq_code_systems
-- Current diagnoses (cdm_conditions) and procedures (cdm_procedures) of every
-- EHR by the code system they are coded in: a real export codes them in
-- SNOMED CT as often as in ICD-10-CM / CPT, and only ICD-10-CM diagnoses and
-- CPT / HCPCS procedures have a gold dimension row. Rows per code system (the
-- coding's system URI; '(none)' when the source sent none), and of them the
-- ones without a dimension key (kept in the gold bridges with a null key).
-- code_system_name: the URI as a name (scheme dropped, other characters '_':
-- 'snomed_info_sct'), what the data-quality mart shows (names and counts only).
-- ============================================================================

with

coded as (

    select
        cast('ehr__condition' as {{ dbt.type_string() }}) as source_table,
        cast('cdm_conditions' as {{ dbt.type_string() }}) as relation_name,
        coalesce(code_system, '(none)') as code_system,
        diagnosis_key as dimension_key
    from {{ ref('cdm_conditions') }}

    union all

    select
        cast('ehr__procedure' as {{ dbt.type_string() }}),
        cast('cdm_procedures' as {{ dbt.type_string() }}),
        coalesce(code_system, '(none)'),
        procedure_key
    from {{ ref('cdm_procedures') }}

),

final as (

    select
        cast('ehr' as {{ dbt.type_string() }}) as source_name,
        source_table,
        relation_name,
        cast(code_system as {{ dbt.type_string() }}) as code_system,
        cast(case
            when code_system = '(none)' then 'none'
            else trim(both '_' from {{ regex_replace_all(regex_replace_all('code_system', '^[A-Za-z]+:(//)?', ''), '[^A-Za-z0-9]+', '_') }})
        end as {{ dbt.type_string() }}) as code_system_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as row_count,
        cast(count(*) - count(dimension_key) as {{ dbt.type_bigint() }}) as rows_without_dimension_key
    from coded
    group by source_table, relation_name, code_system

)

select * from final
