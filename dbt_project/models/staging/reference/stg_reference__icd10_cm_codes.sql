-- ============================================================================
-- stg_reference__icd10_cm_codes
-- One row per ICD-10-CM code of the reference code set (every level:
-- chapter, block, category, subcategory, extended subcategory), renamed and
-- typed. Reference data, not a source system feed: no quarantine, the source
-- tests (unique, not null code) guard it. Never filters.
-- Stays a table: bronze holds one row per code (the load merges on code),
-- so it does not grow with history.
-- ============================================================================

with

source as (

    select * from {{ source('reference', 'reference__icd10_cm') }}

),

renamed as (

    select
        ---------- codes
        code as icd10_code,
        {{ dbt.replace('code', "'.'", "''") }} as icd10_code_undotted,
        code_type,
        is_billable,

        ---------- descriptions
        description as icd10_description,

        ---------- hierarchy
        category as category_code,
        block as block_code,
        block_description,
        chapter as chapter_code,
        chapter_description,

        ---------- lineage
        code_set_version,
        loaded_at,
        _dlt_load_id

    from source

),

final as (

    select
        ---------- codes
        icd10_code,
        icd10_code_undotted,
        code_type,
        cast(is_billable as {{ dbt.type_boolean() }}) as is_billable,

        ---------- descriptions
        icd10_description,

        ---------- hierarchy
        category_code,
        block_code,
        block_description,
        chapter_code,
        chapter_description,

        ---------- lineage
        code_set_version,
        loaded_at,
        _dlt_load_id

    from renamed

)

select * from final
