-- /search in an event's pool by freshness windows, as everyone's is (teambot/data/search.py):
-- each member row carries its person's last_active, so an index of migration 0020
-- (event_id, last_active desc, user_id) gives an event's most recently active members first
-- and a search reads one window of them, not the whole pool (about 2 900 rows per search at
-- a million people: 34 ms p95).
--
-- Triggers keep the copy: a member row takes its person's last_active when it is made, and
-- every change of a person's last_active is written to their member rows. The bot changes
-- it at most once a minute per person (teambot/data/users.py, SEEN), and the trigger runs
-- only when the value changes: one probe of event_members_user_idx per change (nothing to
-- update for the 16 in 17 people in no event), one row per event for the others.
--
-- The column is filled by 0020, outside this transaction (a few seconds of rows at a
-- million people, while event_members stays writable). The trigger on users comes last:
-- CREATE TRIGGER holds a lock on users that blocks writes until the commit, which follows
-- at once. A short wait for the locks, tried again by teambot/data/migrations.py.
set local lock_timeout = '300ms';

alter table event_members add column last_active timestamptz;

create function event_members_recency() returns trigger
language plpgsql as $$
begin
    new.last_active := (select last_active from users where id = new.user_id);
    return new;
end
$$;

create trigger event_members_recency before insert on event_members
    for each row execute function event_members_recency();

create function users_recency_to_events() returns trigger
language plpgsql as $$
begin
    update event_members set last_active = new.last_active
    where user_id = new.id and last_active is distinct from new.last_active;
    return null;
end
$$;

create trigger users_recency_to_events after update of last_active on users
    for each row when (old.last_active is distinct from new.last_active)
    execute function users_recency_to_events();
