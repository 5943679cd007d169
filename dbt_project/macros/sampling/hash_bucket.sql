{#- ===========================================================================
    hash_bucket(expr, n): md5(expr) read as ONE unsigned 128-bit integer, mod n.
    Must agree with warehouse/sampling.py:
        int(hashlib.md5(key.encode()).hexdigest(), 16) % n
    Null in, null out.
=========================================================================== -#}
{% macro hash_bucket(expr, n) -%}
    {%- if n is not number or n | int != n or n < 1 -%}
        {{ exceptions.raise_compiler_error("hash_bucket: n must be a positive integer, got " ~ n) }}
    {%- endif -%}
    {{ adapter.dispatch('hash_bucket', 'carehouse')(expr, n) }}
{%- endmacro %}

{#- Postgres: 32 hex digits = 4 chunks of 8 (32 bits each, always positive as
    bigint); combine them with Horner's rule in arbitrary-precision numeric. -#}
{% macro postgres__hash_bucket(expr, n) -%}
    {%- set chunks = [] -%}
    {%- for i in range(4) -%}
        {%- do chunks.append(
            "cast(cast(cast('x' || lpad(substr(md5(cast(" ~ expr ~ " as text)), " ~ (i * 8 + 1) ~ ", 8), 16, '0') as bit(64)) as bigint) as numeric)"
        ) -%}
    {%- endfor -%}
    cast(mod(
        ((({{ chunks[0] }}) * 4294967296 + {{ chunks[1] }}) * 4294967296 + {{ chunks[2] }}) * 4294967296 + {{ chunks[3] }},
        {{ n }}
    ) as integer)
{%- endmacro %}

{% macro default__hash_bucket(expr, n) -%}
    {{ exceptions.raise_compiler_error(
        "hash_bucket has no implementation for adapter '" ~ adapter.type() ~ "'. Add a macro "
        ~ adapter.type() ~ "__hash_bucket(expr, n) that reads md5(expr) as one unsigned 128-bit "
        ~ "integer modulo n, matching warehouse/sampling.py."
    ) }}
{%- endmacro %}
