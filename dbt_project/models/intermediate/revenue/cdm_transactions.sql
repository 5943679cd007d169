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
-- ============================================================================

with

transactions as (

    select * from {{ ref('stg_billing__transactions') }}
    where quarantine_reason is null

),

ehr_patients as (

    select source_system, patient_id from {{ ref('cdm_patients') }}
    union
    select source_system, patient_id from {{ ref('cdm_encounters') }} where is_completed

),

departments as (

    select source_system, dept_id, department_key from {{ ref('int_billing_departments_current') }}

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
        transactions._dq_flags

    from transactions
    left join departments
        on departments.source_system = transactions.source_system
        and departments.dept_id = transactions.dept_id
    left join ehr_patients
        on ehr_patients.source_system = transactions.source_system
        and ehr_patients.patient_id = transactions.patient_id

)

select * from final
