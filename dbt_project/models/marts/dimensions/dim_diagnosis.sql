-- ============================================================================
-- dim_diagnosis
-- One row per ICD-10-CM code below block level (categories, subcategories,
-- extended subcategories: every billable code and the non-billable headers
-- above it) from the reference code set, with its category, block and
-- chapter. diagnosis_key = keyed hash of the dotted code (macro surrogate_key).
-- ICD-10-CM codes seen on a condition in silver that are not in the code set
-- (a typo, a retired code) get a row too, is_in_code_set = false, so every
-- diagnosis key of the star resolves. Other code systems (SNOMED CT) have no
-- row: their bridge rows carry code_system + code and a null diagnosis_key.
-- ============================================================================

with

reference_codes as (

    select * from {{ ref('stg_reference__icd10_cm_codes') }}

),

codes as (

    select * from reference_codes
    where code_type not in ('chapter', 'block')

),

categories as (

    select icd10_code, icd10_description
    from reference_codes
    where code_type = 'category'

),

unknown_codes as (

    select
        conditions.condition_code,
        min(conditions.condition_display) as condition_display
    from {{ ref('cdm_conditions') }} as conditions
    left join codes
        on codes.icd10_code = conditions.condition_code
    where codes.icd10_code is null
        and conditions.diagnosis_key is not null  -- ICD-10-CM coded only
    group by conditions.condition_code

),

final as (

    select
        {{ surrogate_key(['codes.icd10_code']) }} as diagnosis_key,
        codes.icd10_code,
        codes.icd10_description as diagnosis_description,
        codes.code_type,
        codes.is_billable,
        codes.category_code,
        categories.icd10_description as category_description,
        codes.block_code,
        codes.block_description,
        codes.chapter_code,
        codes.chapter_description,
        codes.code_set_version,
        true as is_in_code_set
    from codes
    left join categories
        on categories.icd10_code = codes.category_code

    union all

    select
        {{ surrogate_key(['condition_code']) }} as diagnosis_key,
        condition_code as icd10_code,
        coalesce(condition_display, 'Unknown diagnosis code') as diagnosis_description,
        'unknown' as code_type,
        false as is_billable,
        cast(null as {{ dbt.type_string() }}) as category_code,
        cast(null as {{ dbt.type_string() }}) as category_description,
        cast(null as {{ dbt.type_string() }}) as block_code,
        cast(null as {{ dbt.type_string() }}) as block_description,
        cast(null as {{ dbt.type_string() }}) as chapter_code,
        cast(null as {{ dbt.type_string() }}) as chapter_description,
        cast(null as {{ dbt.type_string() }}) as code_set_version,
        false as is_in_code_set
    from unknown_codes

)

select * from final
