-- ============================================================================
-- The SQL hash_bucket macro agrees with warehouse/sampling.py:
--   int(hashlib.md5(key.encode()).hexdigest(), 16) % n
-- Expected values were computed with that Python function. The keys include
-- md5 digests whose leading hex chunks are >= 0x80000000 (the sign-bit trap)
-- and moduli other than 100. Returns every key whose bucket disagrees.
-- ============================================================================

with

reference_values as (

    select 'athena:13' as sample_key, 100 as n, 0 as expected_bucket
    union all select 'athena:10', 100, 9
    union all select 'epic:29', 100, 10
    union all select 'athena:17', 100, 18
    union all select 'epic:17', 100, 63
    union all select 'athena:14', 100, 98
    union all select 'athena:1', 100, 55
    union all select '', 100, 66
    union all select 'athena:17', 7, 4
    union all select 'epic:17', 1000, 963

),

computed as (

    select
        sample_key,
        n,
        expected_bucket,
        case n
            when 7 then {{ hash_bucket('sample_key', 7) }}
            when 1000 then {{ hash_bucket('sample_key', 1000) }}
            else {{ hash_bucket('sample_key', 100) }}
        end as actual_bucket
    from reference_values

)

select *
from computed
where actual_bucket is distinct from expected_bucket
