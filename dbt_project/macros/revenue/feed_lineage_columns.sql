{#- ===========================================================================
    feed_lineage_columns(): the bronze lineage every CSV feed row carries
    (ingestion/feeds), listed once: where the row came from (tenant,
    environment, batch, file, file date, row) and when dlt loaded it. Staging
    and quarantine models of the feeds select it unchanged, so any row in
    silver can be traced back to its line in the landing zone.
=========================================================================== -#}
{% macro feed_lineage_columns() -%}
    tenant,
        environment,
        batch_id,
        source_file,
        file_date,
        row_number,
        ingested_at,
        _dlt_load_id
{%- endmacro %}
