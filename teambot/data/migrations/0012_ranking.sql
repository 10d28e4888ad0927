-- The matching rules of teambot/services/fit.py as SQL functions, one per criterion, so the
-- search and the digest state them once. Each returns null when the seeker's own side says
-- nothing (the criterion does not apply), false when the other person does not fit (an
-- empty field of theirs never fits), true when they do. Plain immutable SQL functions:
-- the planner inlines them into the statements that call them.
--
-- No table is touched: nothing here takes a lock on users.

-- hours-a-week bands at most one step apart
create function fit_commitment(seeker text, other text) returns boolean
language sql immutable parallel safe as $$
    select case when array_position(array['under_10', '10_20', '20_40', 'full_time'], seeker)
                     is null then null
                else coalesce(abs(array_position(array['under_10', '10_20', '20_40', 'full_time'], seeker)
                                  - array_position(array['under_10', '10_20', '20_40', 'full_time'], other)) <= 1,
                              false)
           end
$$;

-- |their offset − mine| within my ± hours
create function fit_time_zone(seeker integer, hours integer, other integer) returns boolean
language sql immutable parallel safe as $$
    select case when seeker is null then null
                else coalesce(abs(other - seeker) <= hours * 60, false) end
$$;

-- both remote (remote or either), or both on site (on_site or either) in the same city
create function fit_work_mode(seeker text, seeker_city text, other text, other_city text)
returns boolean
language sql immutable parallel safe as $$
    select case when coalesce(seeker in ('remote', 'either')
                              or (seeker in ('on_site', 'either') and seeker_city is not null),
                              false)
                then coalesce((seeker in ('remote', 'either') and other in ('remote', 'either'))
                              or (seeker in ('on_site', 'either') and other in ('on_site', 'either')
                                  and lower(seeker_city) = lower(other_city)), false)
           end
$$;

-- their role focus (or stage) is one I want
create function fit_one_of(wanted text[], other text) returns boolean
language sql immutable parallel safe as $$
    select case when cardinality(wanted) = 0 then null
                else coalesce(other = any(wanted), false) end
$$;

-- a language in common
create function fit_language(seeker text[], other text[]) returns boolean
language sql immutable parallel safe as $$
    select case when cardinality(seeker) = 0 then null else seeker && other end
$$;
