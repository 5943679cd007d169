-- ============================================================================
-- quarantine_billing__transactions
-- Every billing transaction row that cannot be used, with the reason, the
-- values as sent and the bronze lineage (source_file + row_number locate the
-- raw row). count(bronze) = count(this) + count(silver.cdm_transactions).
-- Incremental (delete+insert by bronze row): each build takes the
-- quarantined staged rows of loads newer than the greatest _dlt_load_id here,
-- and again the staged copies of the transaction ids those loads carry (a
-- later-loaded but earlier-dated copy makes them duplicate_rows, or adds the
-- flag to rows quarantined for another reason). A row never leaves: more
-- copies only raise an arrival rank.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key=['source_file', 'row_number'],
    indexes=[load_id_index(), {'columns': ['source_file', 'row_number']}],
) }}

with

staged as (

    select * from {{ ref('stg_billing__transactions') }}

),

{% if incremental_build() %}
new_transactions as (

    select source_system, transaction_id from staged
    where {{ incremental_load_filter() }}

),

{% endif %}
final as (

    select
        ---------- why
        quarantine_reason,
        _dq_flags,

        ---------- what (as far as it could be read)
        source_system,
        transaction_id,
        charge_id,
        transaction_type,
        payer_code,
        raw_service_date,
        raw_posting_date,
        raw_amount,

        ---------- bronze lineage
        {{ feed_lineage_columns() }}

    from staged
    where quarantine_reason is not null
        and (
            {{ incremental_load_filter() }}
            {% if incremental_build() %}
            or (source_system, transaction_id) in (select source_system, transaction_id from new_transactions)
            or (
                transaction_id is null
                and source_system in (select source_system from new_transactions where transaction_id is null)
            )
            {% endif %}
        )

)

select * from final
