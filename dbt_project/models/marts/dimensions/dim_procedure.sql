-- ============================================================================
-- dim_procedure
-- One row per CPT code: the curated codes of the cpt_procedures seed (the
-- ones the simulated EHRs use), plus every CPT / HCPCS code seen on a
-- procedure in silver that the seed lacks (SNOMED CT ones: none, their
-- bridge rows carry code_system + code and a null procedure_key), flagged is_in_code_set = false with the description
-- the EHR sent. procedure_key = keyed hash of the code (macro surrogate_key).
-- ============================================================================

with

curated as (

    select * from {{ ref('cpt_procedures') }}

),

unknown_codes as (

    select
        procedures.procedure_code,
        min(procedures.procedure_display) as procedure_display
    from {{ ref('cdm_procedures') }} as procedures
    left join curated
        on curated.code = procedures.procedure_code
    where curated.code is null
        and procedures.procedure_key is not null  -- CPT / HCPCS coded only
    group by procedures.procedure_code

),

final as (

    select
        {{ surrogate_key(['code']) }} as procedure_key,
        code as procedure_code,
        description as procedure_description,
        category as procedure_category,
        is_visit_code,
        true as is_in_code_set
    from curated

    union all

    select
        {{ surrogate_key(['procedure_code']) }} as procedure_key,
        procedure_code,
        coalesce(procedure_display, 'Unknown procedure code') as procedure_description,
        'Unknown' as procedure_category,
        false as is_visit_code,
        false as is_in_code_set
    from unknown_codes

)

select * from final
