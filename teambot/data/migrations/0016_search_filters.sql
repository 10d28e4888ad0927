-- /search with quick filters or a skill filter (teambot/data/search.py): the freshness
-- windows are counted among the people who pass those filters, so the walk reads them in
-- recency order from an index that holds only them, or that can test them without a visit
-- to the table (an index-only scan: the filter columns are in the index); it visits the
-- table only for the rows of the window, to rank them. At a million people a restrictive
-- filter read up to 50 000 table rows before (177 ms p95).
--
-- Plain CREATE INDEX: migrations run in a transaction, so CONCURRENTLY is not available;
-- each blocks writes to users (not reads) while it builds, about a second per index at a
-- million people (README, Scale). A short wait for the lock, tried again by
-- teambot/data/migrations.py: a build waiting behind a long reader would hold up every
-- write to users.
set local lock_timeout = '300ms';
-- each build sorts its entries in memory (70 to 80 MB at a million) rather than in files:
-- the shorter the builds, the shorter writes wait
set local maintenance_work_mem = '256MB';

-- a role focus filter: its people only, most recently active first; the other quick
-- filters and the skill are tested in the index
create index users_search_role_idx on users (role_focus, last_active desc, id)
    include (hours_per_week, work_mode, skills)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and role_focus is not null;

-- an hours-per-week filter (without a role filter, or when it is the narrower one)
create index users_search_hours_idx on users (hours_per_week, last_active desc, id)
    include (role_focus, work_mode, skills)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and hours_per_week is not null;

-- "remote" or a skill filter (alone, or beside the others when this is the narrower
-- index): the searching people in recency order with their work mode and skills, tested
-- in the index (a GIN index gives no recency order); a skill held by one in nine costs
-- nine index entries per table row read, not nine table rows
create index users_search_tags_idx on users (last_active desc, id)
    include (work_mode, skills)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null;
