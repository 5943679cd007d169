{#- ===========================================================================
    dq_monitored_tables(): the explicit list of what the data-quality models
    (models/intermediate/data_quality) measure: one entry per bronze source
    table, with the models that carry its rows through silver. The models
    call source() / ref() on these names, so dbt and Dagster see every input
    as a parent (lineage, build order). A new source table = one entry here.

      source, table  the dbt source (bronze table)
      staging        its stg_ model: one row per bronze row, with _dq_flags
      quarantine     its quarantine_ model (none: nothing is quarantined)
      usable         the first intermediate model of its usable rows
                     (de-duplicated / current file; none: read from staging)
      loaded_at      load-time column of the bronze table (default ingested_at)
      batch          landing-batch column (default batch_id; none: no batches)
      flags          whether staging has _dq_flags (default true)

    Unit tests override this macro with one or two hand-made entries.
=========================================================================== -#}
{% macro dq_monitored_tables() -%}
    {%- set ehr = [
        ('ehr__encounter', 'encounters'), ('ehr__patient', 'patients'),
        ('ehr__practitioner', 'practitioners'), ('ehr__organization', 'organizations'),
        ('ehr__location', 'locations'), ('ehr__condition', 'conditions'),
        ('ehr__procedure', 'procedures'), ('ehr__practitionerrole', 'practitioner_roles'),
        ('ehr__coverage', 'coverages'), ('ehr__diagnosticreport', 'diagnostic_reports'),
        ('ehr__observation', 'observations'), ('ehr__medicationrequest', 'medication_requests'),
        ('ehr__immunization', 'immunizations'), ('ehr__allergyintolerance', 'allergy_intolerances'),
    ] -%}
    {%- set tables = [] -%}
    {%- for table, entity in ehr -%}
        {%- do tables.append({'source': 'ehr', 'table': table, 'staging': 'stg_ehr__' ~ entity,
                              'quarantine': 'quarantine_ehr__' ~ entity,
                              'usable': 'int_' ~ entity ~ '_deduplicated'}) -%}
    {%- endfor -%}
    {%- do tables.extend([
        {'source': 'adt', 'table': 'adt__events', 'staging': 'stg_adt__events',
         'quarantine': 'quarantine_adt__events', 'usable': 'int_adt_events_deduplicated'},
        {'source': 'billing', 'table': 'billing__departments', 'staging': 'stg_billing__departments',
         'quarantine': none, 'usable': 'int_billing_departments_current'},
        {'source': 'billing', 'table': 'billing__providers', 'staging': 'stg_billing__providers',
         'quarantine': 'quarantine_billing__providers', 'usable': 'int_billing_providers_current'},
        {'source': 'billing', 'table': 'billing__transactions', 'staging': 'stg_billing__transactions',
         'quarantine': 'quarantine_billing__transactions', 'usable': 'cdm_transactions'},
        {'source': 'claims', 'table': 'claims__claim_lines', 'staging': 'stg_claims__claim_lines',
         'quarantine': 'quarantine_claims__claim_lines', 'usable': 'int_claim_lines_current'},
        {'source': 'pharmacy', 'table': 'pharmacy__fills', 'staging': 'stg_pharmacy__fills',
         'quarantine': 'quarantine_pharmacy__fills', 'usable': 'int_pharmacy_fills_current'},
        {'source': 'eligibility', 'table': 'eligibility__member_months',
         'staging': 'stg_eligibility__member_months',
         'quarantine': 'quarantine_eligibility__member_months', 'usable': 'int_member_months'},
        {'source': 'reference', 'table': 'reference__icd10_cm', 'staging': 'stg_reference__icd10_cm_codes',
         'quarantine': none, 'usable': none, 'loaded_at': 'loaded_at', 'batch': none, 'flags': false},
    ]) -%}
    {{ return(tables) }}
{%- endmacro %}

{#- dq_entry(entry): an entry with its defaults filled in. -#}
{% macro dq_entry(entry) -%}
    {%- set filled = {'quarantine': none, 'usable': none, 'loaded_at': 'ingested_at',
                      'batch': 'batch_id', 'flags': true} -%}
    {%- do filled.update(entry) -%}
    {{ return(filled) }}
{%- endmacro %}

{#- dq_split_flags(column): one row per rule in a pipe-separated _dq_flags value
    (macros/data_quality/dq_rules.sql writes them), as a set-returning select
    expression. Dispatched: other engines explode differently (Spark: explode(split())). -#}
{% macro dq_split_flags(column) -%}
    {{ return(adapter.dispatch('dq_split_flags', 'carehouse')(column)) }}
{%- endmacro %}

{% macro default__dq_split_flags(column) -%}
    unnest(string_to_array({{ column }}, '|'))
{%- endmacro %}
