-- ============================================================================
-- fct_medication_orders
-- One row per medication order (MedicationRequest, current version) of either
-- EHR: the drug as an RxNorm code, status, intent and the day it was
-- authored. Orders entered in error are left out; cancelled, stopped and
-- completed orders stay (filter on order_status). The dosage text stays in
-- silver.
--
-- Keys as fct_encounters carries them: patient_key / provider_key are the
-- dim_patient / dim_provider VERSIONS valid when the order was authored
-- (valid_from <= authored_at < valid_to), patient_durable_key and
-- practitioner_key the people across versions; facility_key is the
-- encounter's facility. No source ids: keys are keyed hashes (HMAC).
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='medication_order_key') }}

with

orders as (

    select * from {{ ref('cdm_medication_requests') }}
    where is_countable

),

encounters as (

    select encounter_key, facility_key from {{ ref('cdm_encounters') }}

),

patient_versions as (

    select patient_key, patient_durable_key, valid_from, valid_to
    from {{ ref('dim_patient') }}

),

provider_versions as (

    select provider_key, provider_durable_key, valid_from, valid_to
    from {{ ref('dim_provider') }}

),

final as (

    select
        ---------- keys
        orders.medication_request_key as medication_order_key,
        patient_versions.patient_key,
        orders.patient_key as patient_durable_key,
        orders.encounter_key,
        provider_versions.provider_key,
        orders.practitioner_key,
        encounters.facility_key,
        {{ date_key('orders.authored_date') }} as authored_date_key,
        orders.source_system,

        ---------- codes
        orders.request_status as order_status,
        orders.request_intent as order_intent,
        orders.medication_code_system,
        orders.medication_code,
        orders.medication_display,
        orders.is_rxnorm_coded,

        ---------- timestamps and dates
        orders.authored_at,
        orders.authored_date,

        ---------- data quality
        orders._dq_flags as dq_flags

    from orders
    left join encounters
        on encounters.encounter_key = orders.encounter_key
    left join patient_versions
        on patient_versions.patient_durable_key = orders.patient_key
        and orders.authored_at >= patient_versions.valid_from
        and orders.authored_at < patient_versions.valid_to
    left join provider_versions
        on provider_versions.provider_durable_key = orders.practitioner_key
        and orders.authored_at >= provider_versions.valid_from
        and orders.authored_at < provider_versions.valid_to

)

select * from final
