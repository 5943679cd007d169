-- ============================================================================
-- int_dq_unresolved_references
-- Conditional references ('Practitioner?identifier=<system>|<value>') that no
-- single resource's identifier matched: the int_*_deduplicated models keep
-- the row with a null id and flag it UNRESOLVED_<NAME>_REFERENCE (macros/
-- data_quality/fhir_reference_resolution.sql). Counted per model and rule;
-- no row when every reference resolved. (Staging flags are counted in
-- int_dq_flags_by_rule; these fire after de-duplication.)
-- ============================================================================

{% set resolving = [
    ('ehr__encounter', 'int_encounters_deduplicated'),
    ('ehr__condition', 'int_conditions_deduplicated'),
    ('ehr__procedure', 'int_procedures_deduplicated'),
    ('ehr__diagnosticreport', 'int_diagnostic_reports_deduplicated'),
    ('ehr__coverage', 'int_coverages_deduplicated'),
    ('ehr__location', 'int_locations_deduplicated'),
    ('ehr__practitionerrole', 'int_practitioner_roles_deduplicated'),
    ('ehr__patient', 'int_patients_deduplicated'),
    ('ehr__observation', 'int_observations_deduplicated'),
    ('ehr__medicationrequest', 'int_medication_requests_deduplicated'),
    ('ehr__immunization', 'int_immunizations_deduplicated'),
    ('ehr__allergyintolerance', 'int_allergy_intolerances_deduplicated'),
] %}

with

fired as (

    {% for table, model in resolving -%}
    select
        cast('{{ table }}' as {{ dbt.type_string() }}) as source_table,
        cast('{{ model }}' as {{ dbt.type_string() }}) as relation_name,
        {{ dq_split_flags('_dq_flags') }} as rule_name
    from {{ ref(model) }}
    where _dq_flags like '%UNRESOLVED%'
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        cast('ehr' as {{ dbt.type_string() }}) as source_name,
        source_table,
        relation_name,
        cast(rule_name as {{ dbt.type_string() }}) as rule_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as flagged_rows
    from fired
    where rule_name like 'UNRESOLVED%'
    group by source_table, relation_name, rule_name

)

select * from final
