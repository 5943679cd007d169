-- ============================================================================
-- stg_billing__transactions
-- One row per bronze transaction row (athena + epic billing), typed: dates
-- in each system's format, amounts as numeric, plus ar_amount, the signed
-- effect on accounts receivable (charges add, everything else subtracts).
-- quarantine_reason (null = usable) applies the revenue-cycle rules in
-- order; a later copy of a transaction already received is a duplicate_row.
-- patient_id is the EHR's FHIR patient id (1-9 digits, leading zeros
-- dropped, as the account parse reads it). A missing or malformed one is
-- flagged, never quarantined: the money belongs to the account, which AR is
-- kept by, so dropping the row would misstate the account's balance; only
-- the link to the patient is lost. Whether the EHR knows the patient is a
-- question across sources, answered in cdm_transactions.
-- Never filters: count(stg) = count(bronze.billing__transactions).
-- Incremental (delete+insert by bronze row): each build types the rows of the
-- completed bronze loads newer than the greatest _dlt_load_id here, and
-- re-ranks the copies already here of the same transaction ids (copied from
-- this table): a copy arriving in a batch dated before theirs becomes the
-- first arrival, and their flags change. --full-refresh gives the same rows.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key=['source_file', 'row_number'],
    indexes=[
        load_id_index(),
        {'columns': ['source_file', 'row_number']},
        {'columns': ['source_system', 'transaction_id']},
    ],
) }}

{% set transaction_types = ['CHARGE', 'PAYMENT', 'ADJUSTMENT', 'WRITE_OFF'] %}

{% set rules = [
    {'name': 'invalid_date', 'quarantine': true,
     'when': "service_date is null or posting_date is null"},
    {'name': 'invalid_amount', 'quarantine': true,
     'when': "amount is null"},
    {'name': 'unknown_payer', 'quarantine': true,
     'when': "payer_code is null or payer_code not in (select payer_code from " ~ ref('payers') ~ ")"},
    {'name': 'negative_charge', 'quarantine': true,
     'when': "transaction_type = 'CHARGE' and amount < 0"},
    {'name': 'invalid_transaction_type', 'quarantine': true,
     'when': "transaction_type is null or transaction_type not in ('" ~ transaction_types | join("', '") ~ "')"},
    {'name': 'missing_id', 'quarantine': true,
     'when': "transaction_id is null or charge_id is null or account_number is null"},
    {'name': 'duplicate_row', 'quarantine': true,
     'when': "arrival_rank > 1"},
    {'name': 'invalid_patient_id', 'quarantine': false,
     'when': "patient_id is null"},
] %}

{% set staged_columns %}
        ---------- ids
        source_system,
        transaction_id,
        charge_id,
        account_number,
        patient_id,
        encounter_id,
        provider_id,
        dept_id,
        charge_line_number,

        ---------- codes
        transaction_type,
        cpt_code,
        payer_code,
        payment_source,

        ---------- dates
        service_date,
        posting_date,
        source_modified_at,

        ---------- amounts
        amount,
        ar_amount,

        ---------- data quality
        raw_service_date,
        raw_posting_date,
        raw_amount,
        raw_patient_id,

        ---------- lineage
        {{ feed_lineage_columns() }}
{% endset %}

with

source as (

    select * from {{ source('billing', 'billing__transactions') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids (system-local, overlapping between systems)
        source_system,
        nullif(trim(transaction_id), '') as transaction_id,
        nullif(trim(charge_id), '') as charge_id,
        nullif(trim(account_number), '') as account_number,
        nullif(trim(encounter_id), '') as encounter_id,
        nullif(trim(provider_id), '') as provider_id,
        nullif(trim(dept_id), '') as dept_id,

        ---------- codes
        upper(nullif(trim(transaction_type), '')) as transaction_type,
        nullif(trim(cpt_code), '') as cpt_code,
        upper(nullif(trim(payer_code), '')) as payer_code,
        nullif(trim(payment_source), '') as payment_source,

        ---------- raw values (as sent)
        line_number as raw_line_number,
        service_date as raw_service_date,
        posting_date as raw_posting_date,
        amount as raw_amount,
        modified_at as raw_modified_at,
        patient_id as raw_patient_id,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from source

),

typed {{ materialized_cte() }} (

    select
        renamed.*,

        ---------- dates
        {{ billing_date('raw_service_date', 'source_system') }} as service_date,
        {{ billing_date('raw_posting_date', 'source_system') }} as posting_date,
        {{ safe_cast_timestamptz('raw_modified_at') }} as source_modified_at,

        ---------- amounts
        {{ safe_cast_integer('raw_line_number') }} as charge_line_number,
        {{ safe_cast_numeric('raw_amount') }} as amount,

        ---------- patient: the EHR's FHIR id (null when missing or not an id)
        case
            when {{ regex_full_match('trim(raw_patient_id)', '^\\d{1,9}$') }}
                then cast(cast(trim(raw_patient_id) as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
        end as patient_id

    from renamed

),

staged as (

    select
        {{ staged_columns }}
    from (
        select
            typed.*,
            cast(case when transaction_type = 'CHARGE' then amount else -amount end as {{ dbt.type_numeric() }}) as ar_amount
        from typed
    ) as signed

),

{% if incremental_build() %}
-- the copies already here of the transactions the new rows carry (their arrival rank may change)
earlier_copies as (

    select
        {{ staged_columns }}
    from {{ this }}
    where (source_system, transaction_id) in (select source_system, transaction_id from staged)

    union all

    select
        {{ staged_columns }}
    from {{ this }}
    where transaction_id is null
        and source_system in (select source_system from staged where transaction_id is null)

),

{% endif %}
candidates as (

    select * from staged
    {% if incremental_build() %}
    union all
    select * from earlier_copies
    {% endif %}

),

ranked as (

    select
        candidates.*,
        ---------- arrival order of each transaction id (1 = first received)
        row_number() over (
            partition by source_system, transaction_id
            order by file_date, source_file, row_number
        ) as arrival_rank
    from candidates

),

validated as (

    select
        ranked.*,
        {{ dq_flags(rules) }} as _dq_flags,
        {{ quarantine_reason(rules) }} as quarantine_reason
    from ranked

),

final as (

    select
        ---------- ids
        source_system,
        transaction_id,
        charge_id,
        account_number,
        patient_id,
        encounter_id,
        provider_id,
        dept_id,
        charge_line_number,

        ---------- codes
        transaction_type,
        cpt_code,
        payer_code,
        payment_source,

        ---------- dates
        service_date,
        posting_date,
        source_modified_at,

        ---------- amounts
        amount,
        ar_amount,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_service_date,
        raw_posting_date,
        raw_amount,
        raw_patient_id,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from validated

)

select * from final
