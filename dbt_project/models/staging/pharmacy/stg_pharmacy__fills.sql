-- ============================================================================
-- stg_pharmacy__fills
-- One row per bronze pharmacy-claim row of every payer file, typed. A fill
-- (claim_status paid) and its reversal (claim_status reversed) share the
-- rx_claim_id. The file name carries the fill month
-- (pharmacy_<payer>_<YYYY-MM>.csv): is_superseded marks rows of a file that a
-- newer file of the same payer and month replaced (delivered twice or
-- resubmitted): superseded rows are valid, just not current. The patient
-- account (ATH/EPC + 7 digits) links to the EHR patient: patient_system +
-- patient_id (the digits without leading zeros, as the EHR's FHIR id).
-- quarantine_reason (null = usable); never filters.
-- Incremental (delete+insert by source_file): each build types the lines of
-- the completed bronze loads newer than the greatest _dlt_load_id here, and
-- re-flags the current (not yet superseded) files of the payer months those
-- lines belong to, copied from this table: a newer file can only supersede a
-- current one (macro is_superseded_payer_file, see payer_files.sql).
-- --full-refresh gives the same rows.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key='source_file',
    indexes=[
        load_id_index(),
        {'columns': ['source_file']},
        {'columns': ['payer_feed_code', 'file_month']},
        {'columns': ['payer_code', 'rx_claim_id']},
    ],
) }}

{% set rules = [
    {'name': 'invalid_date', 'quarantine': true,
     'when': "fill_date is null"},
    {'name': 'invalid_amount', 'quarantine': true,
     'when': "paid_amount is null"
        ~ " or (raw_patient_paid_amount is not null and patient_paid_amount is null)"
        ~ " or (raw_quantity is not null and quantity is null)"},
    {'name': 'invalid_days_supply', 'quarantine': true,
     'when': "days_supply is null or days_supply < 1 or days_supply > 365"},
    {'name': 'invalid_npi', 'quarantine': true,
     'when': "not " ~ is_valid_npi('prescriber_npi')},
    {'name': 'duplicate_row', 'quarantine': true,
     'when': "copy_rank > 1"},
] %}

{% set staged_columns %}
        ---------- ids
        payer_code,
        payer_feed_code,
        rx_claim_id,
        member_id,
        patient_account,
        patient_system,
        patient_id,
        prescriber_npi,

        ---------- codes
        claim_status,
        ndc,
        drug_name,
        therapeutic_class,

        ---------- dates
        file_month,
        fill_date,
        fill_month,

        ---------- amounts
        days_supply,
        quantity,
        paid_amount,
        patient_paid_amount,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_fill_date,
        raw_days_supply,
        raw_quantity,
        raw_paid_amount,
        raw_patient_paid_amount,

        ---------- lineage
        {{ feed_lineage_columns() }}
{% endset %}

with

source as (

    select * from {{ source('pharmacy', 'pharmacy__fills') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids
        source_system as payer_feed_code,
        upper(source_system) as payer_code,
        nullif(trim(rx_claim_id), '') as rx_claim_id,
        nullif(trim(member_id), '') as member_id,
        upper(nullif(trim(patient_account), '')) as patient_account,
        nullif(trim(prescriber_npi), '') as prescriber_npi,

        ---------- codes
        lower(nullif(trim(claim_status), '')) as claim_status,
        nullif(trim(ndc), '') as ndc,
        nullif(trim(drug_name), '') as drug_name,
        lower(nullif(trim(therapeutic_class), '')) as therapeutic_class,

        ---------- raw values (as sent)
        nullif(trim(fill_date), '') as raw_fill_date,
        nullif(trim(days_supply), '') as raw_days_supply,
        nullif(trim(quantity), '') as raw_quantity,
        nullif(trim(paid_amount), '') as raw_paid_amount,
        nullif(trim(patient_paid_amount), '') as raw_patient_paid_amount,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from source

),

typed {{ materialized_cte() }} (

    select
        renamed.*,

        ---------- patient (the EHR's system and FHIR id)
        {{ account_patient_system('patient_account') }} as patient_system,
        {{ account_patient_id('patient_account') }} as patient_id,

        ---------- dates
        {{ safe_cast_date('raw_fill_date') }} as fill_date,
        {{ payer_file_month() }} as file_month,

        ---------- amounts
        {{ safe_cast_integer('raw_days_supply') }} as days_supply,
        cast({{ safe_cast_numeric('raw_quantity') }} as {{ dbt.type_numeric() }}) as quantity,
        cast({{ safe_cast_numeric('raw_paid_amount') }} as {{ dbt.type_numeric() }}) as paid_amount,
        cast({{ safe_cast_numeric('raw_patient_paid_amount') }} as {{ dbt.type_numeric() }}) as patient_paid_amount,

        ---------- copies of one claim row inside one file (1 = first)
        row_number() over (
            partition by source_file, rx_claim_id, claim_status
            order by row_number
        ) as copy_rank

    from renamed

),

validated {{ materialized_cte() }} (

    select
        typed.*,
        cast({{ dbt.date_trunc('month', 'fill_date') }} as date) as fill_month,
        {{ dq_flags(rules) }} as _dq_flags,
        {{ quarantine_reason(rules) }} as quarantine_reason
    from typed

),

staged as (

    select
        {{ staged_columns }}
    from validated

),

candidates as (

    -- the new lines and, on an incremental build, the current files here of the payer months
    -- they belong to (a newer file may supersede them)
    {{ new_and_previous_rows(staged_columns, current_payer_files('file_month')) }}

),

final as (

    select
        candidates.*,
        -- the newest file (arrival day, then batch) of a payer and fill month replaces every earlier one
        {{ is_superseded_payer_file('file_month') }} as is_superseded
    from candidates

)

select * from final
