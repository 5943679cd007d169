{#- ===========================================================================
    sample_rate_pct(): the chart-review sample rate (var `sample_rate_pct`,
    default 10) as an integer percentage, validated to 0..100 at compile time.
=========================================================================== -#}
{% macro sample_rate_pct() -%}
    {%- set raw = var('sample_rate_pct', 10) -%}
    {%- set rate = raw | int(-1) -%}
    {%- if rate | string != raw | string | trim or rate < 0 or rate > 100 -%}
        {{ exceptions.raise_compiler_error("var sample_rate_pct must be an integer from 0 to 100, got '" ~ raw ~ "'") }}
    {%- endif -%}
    {{ rate }}
{%- endmacro %}

{% macro sampling_method() -%}
    md5(sample_key) mod 100 < sample_rate_pct
{%- endmacro %}
