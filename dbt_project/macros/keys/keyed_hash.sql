{#- ===========================================================================
    keyed_hash(expr): HMAC-SHA256 of expr (text, UTF-8) as 64 lowercase hex
    digits, keyed with this warehouse's gold key. Must agree with
    warehouse/keys.py:keyed_hash; without the key, nobody can recompute a key
    from a candidate source id.

    The key never appears in SQL: carehouse hands every dbt session its RFC 2104
    inner and outer pads as the settings carehouse.gold_key_ipad / _opad (libpq
    PGOPTIONS), and HMAC(k, m) = sha256(opad || sha256(ipad || m)). A session
    without them fails ("unrecognized configuration parameter"), it never
    falls back to an unkeyed hash: run dbt through carehouse.

    Unit tests pin a public test key with `overrides: {vars: {gold_key: unit_test}}`
    (key 'carehouse-unit-test-key'; expected values come from
    warehouse.keys.keyed_hash(b'carehouse-unit-test-key', ...)).
    Null in, null out.
=========================================================================== -#}
{% macro keyed_hash(expr) -%}
    {{ adapter.dispatch('keyed_hash', 'carehouse')(expr) }}
{%- endmacro %}

{% macro postgres__keyed_hash(expr) -%}
    encode(sha256(
        decode({{ carehouse.gold_key_pad('opad') }}, 'hex')
        || sha256(decode({{ carehouse.gold_key_pad('ipad') }}, 'hex') || convert_to({{ expr }}, 'UTF8'))
    ), 'hex')
{%- endmacro %}

{#- Spark SQL: the pads come from the session conf (SET carehouse.gold_key_ipad=...),
    substituted by spark.sql.variable.substitute (on by default). -#}
{% macro default__keyed_hash(expr) -%}
    sha2(concat(
        unhex({{ carehouse.gold_key_pad('opad') }}),
        unhex(sha2(concat(unhex({{ carehouse.gold_key_pad('ipad') }}), encode({{ expr }}, 'UTF-8')), 256))
    ), 256)
{%- endmacro %}

{#- The SQL expression of one pad (hex text): the session setting, or the unit-test key's. -#}
{% macro gold_key_pad(which) -%}
    {%- if which not in ('ipad', 'opad') -%}
        {{ exceptions.raise_compiler_error("gold_key_pad: which must be 'ipad' or 'opad', got " ~ which) }}
    {%- endif -%}
    {%- if var('gold_key', 'warehouse') == 'unit_test' -%}
        {%- set unit_test_pads = {
            'ipad': '555744535e594345531b43585f421b425345421b5d534f3636363636363636363636363636363636363636363636363636363636363636363636363636363636',
            'opad': '3f3d2e393433292f3971293235287128392f28713739255c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c'
        } -%}
        '{{ unit_test_pads[which] }}'
    {%- else -%}
        {{ adapter.dispatch('gold_key_setting', 'carehouse')('carehouse.gold_key_' ~ which) }}
    {%- endif -%}
{%- endmacro %}

{% macro postgres__gold_key_setting(name) -%}
    current_setting('{{ name }}')
{%- endmacro %}

{% macro default__gold_key_setting(name) -%}
    '${ {{- name -}} }'
{%- endmacro %}
