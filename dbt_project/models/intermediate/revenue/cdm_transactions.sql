-- ============================================================================
-- cdm_transactions
-- The common data model of billing transactions: both billing systems in one
-- shape, usable rows only (one per transaction), with surrogate keys built
-- from (source_system, id) exactly as the clinical models build theirs, so
-- patient, encounter and practitioner keys meet the EHR's. ar_amount is the
-- signed effect on accounts receivable:
--   outstanding AR = sum(ar_amount) = charges - payments - adjustments - write-offs.
-- A row whose patient id is missing or malformed (flag INVALID_PATIENT_ID) or
-- names no patient of its system's EHR (is_ehr_patient false) keeps its money
-- but gets no patient_key: null in gold, never a key that points at no
-- patient. "Known" is exactly what gold.dim_patient has a row for: a usable
-- patient record, or the subject of a completed encounter (an inferred member).
-- Incremental (delete+insert by source_system + transaction_id): each build
-- recomputes the transactions that rows of new bronze loads carry (the
-- pre-hook first deletes them: an earlier-dated copy may have made the kept
-- row a duplicate), and those here whose department or EHR patient resolves
-- differently today (a new billing extract, a new EHR patient).
-- _dlt_load_id (the transaction row's load) is the watermark.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key=['source_system', 'transaction_id'],
    indexes=[load_id_index(), {'columns': ['source_system', 'transaction_id']}],
    pre_hook="{{ delete_touched_keys(['source_system', 'transaction_id'],
        touched_keys(ref('stg_billing__transactions'), ['source_system', 'transaction_id'])) }}",
) }}

with

ehr_patients as (

    select source_system, patient_id from {{ ref('cdm_patients') }}
    union
    select source_system, patient_id from {{ ref('cdm_encounters') }} where is_completed

),

departments as (

    select source_system, dept_id, department_key from {{ ref('int_billing_departments_current') }}

),

{% if incremental_build() %}
-- the transactions to recompute: those new loads carry, and those whose department or EHR
-- patient resolves differently than when they were built
touched as (

    {{ touched_keys(ref('stg_billing__transactions'), ['source_system', 'transaction_id']) }}

    union

    select previous.source_system, previous.transaction_id
    from {{ this }} as previous
    left join departments
        on departments.source_system = previous.source_system
        and departments.dept_id = previous.dept_id
    left join ehr_patients
        on ehr_patients.source_system = previous.source_system
        and ehr_patients.patient_id = previous.patient_id
    where previous.department_key is distinct from departments.department_key
        or previous.is_ehr_patient <> (ehr_patients.patient_id is not null)

),

{% endif %}
transactions as (

    select * from {{ ref('stg_billing__transactions') }}
    where quarantine_reason is null
        {% if incremental_build() %}
        and (source_system, transaction_id) in (select source_system, transaction_id from touched)
        {% endif %}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['transactions.source_system', 'transactions.transaction_id']) }} as transaction_key,
        {{ surrogate_key(['transactions.source_system', 'transactions.charge_id']) }} as charge_key,
        {{ surrogate_key(['transactions.source_system', 'transactions.account_number']) }} as account_key,
        case
            when ehr_patients.patient_id is not null
                then {{ surrogate_key(['transactions.source_system', 'transactions.patient_id']) }}
        end as patient_key,
        {{ optional_surrogate_key('transactions.encounter_id', ['transactions.source_system', 'transactions.encounter_id']) }} as encounter_key,
        {{ optional_surrogate_key('transactions.provider_id', ['transactions.source_system', 'transactions.provider_id']) }} as practitioner_key,
        {{ optional_surrogate_key('transactions.cpt_code', ['transactions.cpt_code']) }} as procedure_key,
        {{ surrogate_key(['transactions.payer_code']) }} as payer_key,
        departments.department_key,

        ---------- natural ids (silver only)
        transactions.source_system,
        transactions.transaction_id,
        transactions.charge_id,
        transactions.account_number,
        transactions.patient_id,
        transactions.encounter_id,
        transactions.provider_id,
        transactions.dept_id,
        transactions.charge_line_number,

        ---------- codes
        transactions.transaction_type,
        transactions.cpt_code,
        transactions.payer_code,
        transactions.payment_source,

        ---------- dates
        transactions.service_date,
        transactions.posting_date,
        transactions.source_modified_at,

        ---------- amounts
        transactions.amount,
        transactions.ar_amount,

        ---------- data quality
        ehr_patients.patient_id is not null as is_ehr_patient,
        transactions._dq_flags,

        ---------- lineage
        transactions._dlt_load_id

    from transactions
    left join departments
        on departments.source_system = transactions.source_system
        and departments.dept_id = transactions.dept_id
    left join ehr_patients
        on ehr_patients.source_system = transactions.source_system
        and ehr_patients.patient_id = transactions.patient_id

)

select * from final
