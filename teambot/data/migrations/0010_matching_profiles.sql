-- Matching beyond tags (issue 12): commitment, where and when, role focus, stage, languages,
-- links, and how much each matters to the person. Every column is optional for the people
-- registered before it: they keep searching, and are offered once to complete them.
--
-- PostgreSQL adds a column with a constant default without rewriting the table, and a
-- constraint added NOT VALID without reading it: every existing row holds NULL or the
-- default, which pass, and new writes are checked. So this holds the table's lock only for
-- a moment, even at a million users (python -m bench.migration measures it: 17-88 ms).
-- Waiting for that lock behind a long reader would queue every query on users behind this
-- ALTER: it gives up after a short wait instead, and teambot/data/migrations.py tries again.
set local lock_timeout = '300ms';

alter table users
    add column hours_per_week   text,            -- under_10, 10_20, 20_40, full_time
    add column available_from   text,            -- now, month, later
    add column time_zone        text,            -- an IANA name (Europe/Berlin) or UTC+05:30
    add column utc_offset       smallint,        -- minutes east of UTC, for ranking
    add column work_mode        text,            -- remote, on_site, either
    add column city             text,            -- where, for on site
    add column role_focus       text,            -- technical, product, design, business, science
    add column stage            text,            -- exploring, idea, prototype, users, revenue
    add column languages        text[] not null default '{}',  -- ISO 639-1 codes spoken
    add column links            text[] not null default '{}',  -- https URLs shown on the card
    -- what I look for in the other person, and how much it matters to me:
    -- 0 don't care, 1 nice to have, 2 must-have (YC co-founder matching's three levels)
    add column want_commitment  smallint not null default 0,
    add column want_time_zone   smallint not null default 0,
    add column time_zone_hours  smallint not null default 3,   -- ± hours from mine
    add column want_work_mode   smallint not null default 0,
    add column want_role        smallint not null default 0,
    add column wanted_roles     text[] not null default '{}',  -- role focuses; a team's: the roles it needs
    add column want_stage       smallint not null default 0,
    add column wanted_stages    text[] not null default '{}',
    add column want_language    smallint not null default 0,
    -- a person registered before these fields is offered, once, to complete them
    add column fields_offered_at timestamptz,
    -- "Still looking?" was asked (7 days before the inactivity pause); cleared by activity
    add column still_looking_asked_at timestamptz;

alter table users
    add constraint users_hours_per_week_check
        check (hours_per_week in ('under_10', '10_20', '20_40', 'full_time')) not valid,
    add constraint users_available_from_check
        check (available_from in ('now', 'month', 'later')) not valid,
    add constraint users_utc_offset_check check (utc_offset between -720 and 840) not valid,
    add constraint users_time_zone_check check (length(time_zone) <= 64) not valid,
    add constraint users_work_mode_check check (work_mode in ('remote', 'on_site', 'either')) not valid,
    add constraint users_city_check check (length(city) between 1 and 100) not valid,
    add constraint users_role_focus_check
        check (role_focus in ('technical', 'product', 'design', 'business', 'science')) not valid,
    add constraint users_stage_check
        check (stage in ('exploring', 'idea', 'prototype', 'users', 'revenue')) not valid,
    add constraint users_languages_check check (cardinality(languages) <= 10) not valid,
    add constraint users_links_check check (cardinality(links) <= 3) not valid,
    -- IN, not BETWEEN: six BETWEENs deparse as nested ANDs, which a restore flattens, so
    -- a dump of a restored database would differ from the original's
    add constraint users_want_levels_check check (
        want_commitment in (0, 1, 2) and want_time_zone in (0, 1, 2)
        and want_work_mode in (0, 1, 2) and want_role in (0, 1, 2)
        and want_stage in (0, 1, 2) and want_language in (0, 1, 2)) not valid,
    add constraint users_time_zone_hours_check check (time_zone_hours between 0 and 12) not valid;

alter table teams
    add column size_limit smallint,
    add constraint teams_size_limit_check check (size_limit between 2 and 50) not valid;

-- Saved for later (/saved): mine to see; a saved person who pauses, is banned or deletes
-- their account is left out of the list (and erased with them).
create table saved_profiles (
    user_id  bigint not null references users (id) on delete cascade,
    saved_id bigint not null references users (id) on delete cascade,
    saved_at timestamptz not null default now(),
    primary key (user_id, saved_id),
    check (user_id <> saved_id)
);
create index saved_profiles_saved_idx on saved_profiles (saved_id);
