-- ============================================================================
-- bridge_encounter_procedure
-- Bridge between fct_encounters and dim_procedure: one row per (completed
-- encounter, code system, procedure code) with how many times the service
-- was performed on the encounter, and the code as the EHR sent it
-- (code_system, code, display: CPT, HCPCS or SNOMED CT). procedure_key is
-- null outside CPT / HCPCS (no dim_procedure row). Only performed procedures (status 'completed') count; the
-- visit's own evaluation-and-management code is a procedure too.
-- ============================================================================

with

encounters as (

    select encounter_key
    from {{ ref('cdm_encounters') }}
    where is_completed

),

procedures as (

    select procedures.*
    from {{ ref('cdm_procedures') }} as procedures
    inner join encounters
        on encounters.encounter_key = procedures.encounter_key
    where procedures.is_performed

),

final as (

    select
        encounter_key,
        procedure_key,
        code_system,
        procedure_code as code,
        min(procedure_display) as display,
        cast(count(*) as {{ dbt.type_int() }}) as procedure_quantity,
        min(performed_at) as first_performed_at
    from procedures
    group by encounter_key, procedure_key, code_system, procedure_code

)

select * from final
