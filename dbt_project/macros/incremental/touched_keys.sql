{#- ===========================================================================
    Incremental "latest version per key" models (int_*_deduplicated): each
    build deletes and re-inserts the keys an increment touched, recomputed
    from the FULL staging history of those keys, so versions_seen and the
    winning version are exactly what a full build gives.

    touched_keys_join(alias, staged, keys, references): on an incremental
    build, an inner join of `alias` (a staging model read as `alias`) to the
    touched keys; nothing on a full build (or in a unit test). A key is
    touched when
      - a staged row of it came in a load newer than the watermark of
        {{ this }} (its greatest _dlt_load_id, the lineage of the winning
        versions: loads at or below it were all read by an earlier build), or
      - one of its staged rows has a conditional reference (references, the
        same (name, stem, resource_type) list as resolve_references) whose
        identifier changed since then: an int_ehr_identifiers row whose
        _dlt_load_id (the newest load that carried that identifier) is above
        the watermark. A reference resolves once its resource arrives, maybe
        in a later load than the row, and stops resolving when a second
        resource carries the same identifier.
    Example (int_encounters_deduplicated):
        select staged.* from {{ ref('stg_ehr__encounters') }} as staged
        {{ touched_keys_join('staged', ref('stg_ehr__encounters'),
                             ['source_system', 'encounter_id'], references) }}
        where staged.quarantine_reason is null
    The staging model's index on the keys makes the join a lookup.
=========================================================================== -#}
{% macro touched_keys_join(alias, staged, keys, references=[]) -%}
    {#- outside the branch: dbt records the dependency when it parses (not an incremental build) -#}
    {%- set identifiers = ref('int_ehr_identifiers') if references else none -%}
    {%- if carehouse.incremental_build() %}
    inner join (
        select {{ keys | join(', ') }}
        from {{ staged }}
        where {{ carehouse.incremental_load_filter() }}
        {%- for name, stem, resource_type in references %}

        union

        select {% for key in keys %}referencing.{{ key }}{{ ', ' if not loop.last }}{% endfor %}
        from {{ staged }} as referencing
        inner join {{ identifiers }} as changed
            on changed.source_system = referencing.source_system
            and changed.resource_type = '{{ resource_type }}'
            and changed.identifier_system = coalesce(referencing.{{ stem }}_identifier_system, '*')
            and changed.identifier_value = referencing.{{ stem }}_identifier_value
        where {{ carehouse.load_id_number('changed._dlt_load_id') }} > {{ carehouse.load_watermark(this) }}
        {%- endfor %}
    ) as touched
        on {% for key in keys %}touched.{{ key }} = {{ alias }}.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
    {%- endif %}
{%- endmacro %}

{#- The conditional references (touched_keys_join's `references`, resolve_references'
    list) of each EHR resource, by its staging stem: the latest-version model and the
    common-data-model model of a resource must recompute the same keys. -#}
{% macro ehr_references(stem) -%}
    {%- set patient = [('patient', 'patient', 'Patient')] -%}
    {%- set references = {
        'allergy_intolerances': patient,
        'conditions': patient,
        'coverages': [('beneficiary', 'patient', 'Patient')],
        'diagnostic_reports': patient,
        'encounters': patient + [('practitioner', 'practitioner', 'Practitioner'), ('organization', 'organization', 'Organization'), ('location', 'location', 'Location')],
        'immunizations': patient,
        'locations': [('managing_organization', 'managing_organization', 'Organization')],
        'medication_requests': patient + [('requester', 'requester_practitioner', 'Practitioner')],
        'observations': patient,
        'organizations': [],
        'patients': [('general_practitioner', 'general_practitioner', 'Practitioner')],
        'practitioner_roles': [('practitioner', 'practitioner', 'Practitioner'), ('organization', 'organization', 'Organization'), ('location', 'location', 'Location')],
        'practitioners': [],
        'procedures': patient,
    } -%}
    {{ return(references[stem]) }}
{%- endmacro %}
