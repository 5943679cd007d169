-- ============================================================================
-- fct_pharmacy_fills
-- Grain: one dispensed prescription fill a payer paid (silver
-- int_pharmacy_fills_current: usable rows, newest file per payer and fill
-- month, reversed fills removed). Keys meet the clinical models: the patient
-- and the prescriber are the EHR's (the prescriber by NPI). The payer's
-- member id and claim number stay in silver.
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='pharmacy_fill_key') }}

with

fills as (

    select * from {{ ref('int_pharmacy_fills_current') }}

),

final as (

    select
        ---------- keys
        pharmacy_fill_key,
        patient_key as patient_durable_key,
        payer_key,
        practitioner_key as prescriber_provider_durable_key,
        {{ date_key('fill_date') }} as fill_date_key,

        ---------- prescriber and drug
        prescriber_npi,
        ndc,
        drug_name as drug_description,
        therapeutic_class,

        ---------- dates
        fill_date,
        fill_month,

        ---------- measures
        cast(days_supply as {{ dbt.type_int() }}) as days_supply,
        cast(quantity as {{ dbt.type_numeric() }}) as quantity,
        cast(paid_amount as {{ dbt.type_numeric() }}) as paid_amount,
        cast(patient_paid_amount as {{ dbt.type_numeric() }}) as patient_paid_amount,
        cast(paid_amount + patient_paid_amount as {{ dbt.type_numeric() }}) as total_cost

    from fills

)

select * from final
