{#- ===========================================================================
    attributes_hash(columns): one md5 over the tracked attributes of a row, for
    hash-based change detection in snapshots (strategy: check on this single
    column; it never leaves the PHI schemas, so it needs no key). Same null-safe
    rendering as surrogate_key (macro natural_key): every value cast to
    text, nulls replaced by a sentinel, joined with '|', so ('a', null) and
    (null, 'a') hash differently and a value moving between columns is seen.
    Keep the column order stable: reordering changes every hash (and so would
    open a new version for every key on the next snapshot).
=========================================================================== -#}
{% macro attributes_hash(columns) -%}
    {%- if columns is string or columns | length == 0 -%}
        {{ exceptions.raise_compiler_error("attributes_hash expects a non-empty list of column expressions, got " ~ columns) }}
    {%- endif -%}
    {{ dbt.hash(carehouse.natural_key(columns)) }}
{%- endmacro %}
