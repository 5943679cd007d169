{#- ===========================================================================
    is_valid_npi(expr): true when the text is a 10-digit NPI whose last digit
    is the Luhn check digit CMS specifies: Luhn over '80840' followed by the
    first nine digits. The prefix always contributes 24 to the Luhn sum, so
    only the nine digits are summed here (odd positions doubled, minus 9 when
    the double exceeds 9). False (never null) for anything else.
=========================================================================== -#}
{% macro is_valid_npi(expr) -%}
    {%- set terms = [] -%}
    {%- for position in range(1, 10) -%}
        {%- set digit = "cast(substr(" ~ expr ~ ", " ~ position ~ ", 1) as integer)" -%}
        {%- if position % 2 == 1 -%}
            {%- do terms.append("(case when " ~ digit ~ " * 2 > 9 then " ~ digit ~ " * 2 - 9 else " ~ digit ~ " * 2 end)") -%}
        {%- else -%}
            {%- do terms.append(digit) -%}
        {%- endif -%}
    {%- endfor -%}
    (case
        when not {{ carehouse.regex_full_match(expr, '^\\d{10}$') }} then false
        else (10 - (24 + {{ terms | join(' + ') }}) % 10) % 10 = cast(substr({{ expr }}, 10, 1) as integer)
    end)
{%- endmacro %}
