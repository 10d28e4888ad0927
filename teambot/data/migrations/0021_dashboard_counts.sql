-- The dashboard's figures kept as the bot writes (issue 13): reading them at 100 000 users
-- and 1 000 000 invitations took a second a page. Every figure is written by triggers in
-- the same statement as the change it counts, so it cannot drift from the rows it counts,
-- whichever code path (or hand-written SQL) changes them.
--
-- dashboard_people: one row per user, what the dashboard needs of them: mirrored from
-- users (live = not deleted, registered_at, searching = is_searching and not banned,
-- skills, looking_for) and stages derived from the other tables (searched: has a search
-- card; requested: sent an invitation; accepted: on either side of an accepted one;
-- in_team: in a team of two or more; joined_at: when they joined someone else's team
-- they are in). Every change to a row adds its figures' differences (dashboard_person_facts)
-- to dashboard_deltas for everyone (scope 0) and for each event the person is in.
-- Invitations add theirs (dashboard_invitation_facts: sent, accepted, declined, expired on
-- their day) the same way, for the sender's events; a change of a team's members moves it
-- from one size to another (dashboard_resize, everyone's only).
--
-- dashboard_deltas only takes inserts, so writers never wait for each other on a counter
-- row; the dashboard folds them into dashboard_counts (one delete ... insert on conflict)
-- before it reads, and the cleanup job does so on each pass. A figure is the sum of its
-- rows in both tables. Totals have the day '-infinity'.
--
-- Plain: the triggers' creation locks the tables against writes until the backfill below
-- commits (4 to 9 s at 100 000 users and 1 000 000 invitations), so no change is missed or
-- counted twice; reads go on. Each lock is waited for 300 ms at most, then the whole is
-- tried again (data/migrations.py), so a long reader does not stall the bot behind it.
set local lock_timeout = '300ms';

create table dashboard_people (
    user_id       bigint primary key references users (id) on delete cascade,
    live          boolean not null,
    registered_at timestamptz,
    searching     boolean not null,
    skills        text[] not null,
    looking_for   text[] not null,
    searched      boolean not null,
    requested     boolean not null,
    accepted      boolean not null,
    in_team       boolean not null,
    joined_at     timestamptz
);

create table dashboard_deltas (
    scope bigint not null,  -- 0: everyone; else an event's id
    day   date   not null,  -- '-infinity': a total
    what  text   not null,
    n     bigint not null
);

create table dashboard_counts (
    scope bigint not null,
    day   date   not null,
    what  text   not null,
    n     bigint not null,
    primary key (scope, what, day)
);

-- What each person is now, computed from the tables themselves: the backfill, the
-- recomputation of the people a change touches, and the tests' check.
create view dashboard_people_now as
select u.id as user_id,
    u.deleted_at is null as live,
    u.registered_at,
    u.is_searching and not u.is_banned as searching,
    u.skills,
    u.looking_for,
    exists (select from search_cards c where c.viewer_id = u.id) as searched,
    exists (select from invitations i where i.sender_id = u.id) as requested,
    exists (select from invitations i where i.sender_id = u.id and i.status = 'accepted')
        or exists (select from invitations i where i.recipient_id = u.id
                   and i.status = 'accepted') as accepted,
    exists (select from team_members m join team_members o
            on o.team_id = m.team_id and o.user_id <> m.user_id
            where m.user_id = u.id) as in_team,
    (select min(m.joined_at) from team_members m join teams t on t.id = m.team_id
     where m.user_id = u.id and t.owner_id <> u.id) as joined_at
from users u;

-- A person's figures: none once deleted. The join delay's bounds (hours) are the
-- dashboard's chart buckets (services/dashboard.py JOIN_DELAYS).
create function dashboard_person_facts(p dashboard_people)
returns table (day date, what text) language sql stable as $$
    select f.day, f.what from (
        select '-infinity'::date as day, 'started' as what
        union all select '-infinity', 'registered' where p.registered_at is not null
        union all select (p.registered_at at time zone 'UTC')::date, 'registered'
            where p.registered_at is not null
        union all select '-infinity', 'searched' where p.searched
        union all select '-infinity', 'requested' where p.requested
        union all select '-infinity', 'accepted' where p.accepted
        union all select '-infinity', 'in_team' where p.in_team
        union all select '-infinity', 'delay:' || case
                when h < 1 then 0 when h < 24 then 1 when h < 72 then 2
                when h < 168 then 3 when h < 336 then 4 else 5 end
            from (select extract(epoch from p.joined_at - p.registered_at) / 3600 as h) d
            where p.joined_at is not null and p.registered_at is not null
        union all select '-infinity', 'looking'
            where p.registered_at is not null and p.searching and not p.in_team
        union all select '-infinity', 'offered:' || s from unnest(p.skills) s
            where p.registered_at is not null and p.searching and not p.in_team
        union all select '-infinity', 'sought:' || s from unnest(p.looking_for) s
            where p.registered_at is not null and p.searching and not p.in_team
    ) f
    where p.live
$$;

-- An invitation's figures: sent on the day it was made; accepted or declined on the day
-- it was answered, expired on the day it ran out.
create function dashboard_invitation_facts(
    status text, created_at timestamptz, answered_at timestamptz, expires_at timestamptz
) returns table (day date, what text) language sql immutable as $$
    select (created_at at time zone 'UTC')::date, 'sent'
    union all
    select (e at time zone 'UTC')::date, status
    from (select case status when 'expired' then expires_at else answered_at end as e) x
    where status in ('accepted', 'declined', 'expired') and e is not null
$$;

-- Everything counted again from the tables: the backfill, and the tests' check that the
-- kept figures are the same.
create function dashboard_recount()
returns table (scope bigint, day date, what text, n bigint) language sql stable as $$
    select s.scope, f.day, f.what, count(*)
    from dashboard_people_now p
    cross join lateral dashboard_person_facts(
        row(p.*)::dashboard_people) f
    cross join lateral (
        select 0::bigint as scope
        union all select e.event_id from event_members e where e.user_id = p.user_id
    ) s
    group by 1, 2, 3
    union all
    select s.scope, f.day, f.what, count(*)
    from invitations i
    cross join lateral dashboard_invitation_facts(
        i.status, i.created_at, i.answered_at, i.expires_at) f
    cross join lateral (
        select 0::bigint as scope
        union all select e.event_id from event_members e where e.user_id = i.sender_id
    ) s
    group by 1, 2, 3
    union all
    select 0::bigint, '-infinity'::date, 'team_size:' || size, count(*)
    from (select team_id, count(*) as size from team_members group by team_id) t
    group by 1, 2, 3
$$;

-- The people a change touches, computed again (only rows that differ are written): one by
-- one by their keys, a plan kept for the session (planning the view's subqueries took
-- 1.5 ms at each call, and a plan for "any of these ids" made without them scans the
-- whole table); a bulk change (hundreds at once) is planned for its ids.
create function dashboard_restate(ids bigint[]) returns void language plpgsql
    set plan_cache_mode = force_generic_plan as $$
declare
    one bigint;
begin
    if cardinality(ids) > 100 then
        execute 'update dashboard_people p set
                searched = x.searched, requested = x.requested, accepted = x.accepted,
                in_team = x.in_team, joined_at = x.joined_at
            from dashboard_people_now x
            where x.user_id = any ($1) and p.user_id = x.user_id
              and (p.searched, p.requested, p.accepted, p.in_team, p.joined_at)
                  is distinct from (x.searched, x.requested, x.accepted, x.in_team, x.joined_at)'
        using ids;
        return;
    end if;
    -- in key order, as every other recomputation takes its locks
    foreach one in array array(select distinct i from unnest(ids) i order by 1) loop
        update dashboard_people p set
            searched = x.searched, requested = x.requested, accepted = x.accepted,
            in_team = x.in_team, joined_at = x.joined_at
        from dashboard_people_now x
        where x.user_id = one and p.user_id = one
          and (p.searched, p.requested, p.accepted, p.in_team, p.joined_at)
              is distinct from (x.searched, x.requested, x.accepted, x.in_team, x.joined_at);
    end loop;
end
$$;

-- dashboard_people's changes, as figures for everyone and the person's events
create function dashboard_person_changed() returns trigger language plpgsql
    set plan_cache_mode = force_generic_plan as $$
declare
    who bigint := coalesce(new.user_id, old.user_id);
begin
    insert into dashboard_deltas (scope, day, what, n)
    select s.scope, f.day, f.what, sum(f.n)
    from (
        select day, what, 1 as n from dashboard_person_facts(new)
        union all
        select day, what, -1 from dashboard_person_facts(old)
    ) f
    cross join (
        select 0::bigint as scope
        union all select e.event_id from event_members e where e.user_id = who
    ) s
    group by 1, 2, 3
    having sum(f.n) <> 0;
    return null;
end
$$;

-- users: a row each, mirrored
create function dashboard_user_added() returns trigger language plpgsql as $$
begin
    insert into dashboard_people (user_id, live, registered_at, searching, skills, looking_for,
                                  searched, requested, accepted, in_team)
    values (new.id, new.deleted_at is null, new.registered_at,
            new.is_searching and not new.is_banned, new.skills, new.looking_for,
            false, false, false, false);
    return null;
end
$$;
create trigger dashboard_user_added after insert on users
    for each row execute function dashboard_user_added();

create function dashboard_user_changed() returns trigger language plpgsql as $$
begin
    update dashboard_people set live = new.deleted_at is null, registered_at = new.registered_at,
        searching = new.is_searching and not new.is_banned, skills = new.skills,
        looking_for = new.looking_for
    where user_id = new.id;
    return null;
end
$$;
-- the WHEN is checked without calling the function: a touch of last_active costs nothing
create trigger dashboard_user_changed after update on users for each row
    when (old.deleted_at is distinct from new.deleted_at
          or old.registered_at is distinct from new.registered_at
          or old.is_searching is distinct from new.is_searching
          or old.is_banned is distinct from new.is_banned
          or old.skills is distinct from new.skills
          or old.looking_for is distinct from new.looking_for)
    execute function dashboard_user_changed();

-- An account erased: its events first, while its invitations are there to be taken off
-- the events' figures (the cascades' order is not ours).
create function dashboard_user_erased() returns trigger language plpgsql as $$
begin
    delete from event_members where user_id = old.id;
    return old;
end
$$;
create trigger dashboard_user_erased before delete on users
    for each row execute function dashboard_user_erased();

-- search cards: searched
create function dashboard_cards_added() returns trigger language plpgsql as $$
begin
    update dashboard_people p set searched = true
    from (select distinct viewer_id from new_cards) c
    where p.user_id = c.viewer_id and not p.searched;
    return null;
end
$$;
create trigger dashboard_cards_added after insert on search_cards
    referencing new table as new_cards for each statement
    execute function dashboard_cards_added();

create function dashboard_cards_removed() returns trigger language plpgsql as $$
begin
    perform dashboard_restate(array(select distinct viewer_id from old_cards));
    return null;
end
$$;
create trigger dashboard_cards_removed after delete on search_cards
    referencing old table as old_cards for each statement
    execute function dashboard_cards_removed();

-- invitations: requested, accepted, and the requests per day
create function dashboard_invitations_added() returns trigger language plpgsql as $$
begin
    update dashboard_people p set requested = true
    from (select distinct sender_id from new_invitations) i
    where p.user_id = i.sender_id and not p.requested;
    if exists (select from new_invitations where status = 'accepted') then
        perform dashboard_restate(array(
            select sender_id from new_invitations where status = 'accepted'
            union select recipient_id from new_invitations where status = 'accepted'));
    end if;
    insert into dashboard_deltas (scope, day, what, n)
    select s.scope, f.day, f.what, count(*)
    from new_invitations i
    cross join lateral dashboard_invitation_facts(
        i.status, i.created_at, i.answered_at, i.expires_at) f
    cross join lateral (
        select 0::bigint as scope
        union all select e.event_id from event_members e where e.user_id = i.sender_id
    ) s
    group by 1, 2, 3;
    return null;
end
$$;
create trigger dashboard_invitations_added after insert on invitations
    referencing new table as new_invitations for each statement
    execute function dashboard_invitations_added();

create function dashboard_invitations_changed() returns trigger language plpgsql as $$
begin
    perform dashboard_restate(array(
        select n.sender_id from old_invitations o join new_invitations n on n.id = o.id
        where (o.status = 'accepted') <> (n.status = 'accepted') or o.sender_id <> n.sender_id
              or o.recipient_id <> n.recipient_id
        union select n.recipient_id from old_invitations o join new_invitations n
            on n.id = o.id
        where (o.status = 'accepted') <> (n.status = 'accepted') or o.sender_id <> n.sender_id
              or o.recipient_id <> n.recipient_id
        union select o.sender_id from old_invitations o join new_invitations n on n.id = o.id
        where o.sender_id <> n.sender_id or o.recipient_id <> n.recipient_id
        union select o.recipient_id from old_invitations o join new_invitations n
            on n.id = o.id
        where o.sender_id <> n.sender_id or o.recipient_id <> n.recipient_id));
    insert into dashboard_deltas (scope, day, what, n)
    select s.scope, f.day, f.what, sum(i.n)
    from (
        select n.sender_id, n.status, n.created_at, n.answered_at, n.expires_at, 1 as n
        from old_invitations o join new_invitations n on n.id = o.id
        where (o.status, o.created_at, o.answered_at, o.expires_at, o.sender_id)
              is distinct from (n.status, n.created_at, n.answered_at, n.expires_at, n.sender_id)
        union all
        select o.sender_id, o.status, o.created_at, o.answered_at, o.expires_at, -1
        from old_invitations o join new_invitations n on n.id = o.id
        where (o.status, o.created_at, o.answered_at, o.expires_at, o.sender_id)
              is distinct from (n.status, n.created_at, n.answered_at, n.expires_at, n.sender_id)
    ) i
    cross join lateral dashboard_invitation_facts(
        i.status, i.created_at, i.answered_at, i.expires_at) f
    cross join lateral (
        select 0::bigint as scope
        union all select e.event_id from event_members e where e.user_id = i.sender_id
    ) s
    group by 1, 2, 3
    having sum(i.n) <> 0;
    return null;
end
$$;
create trigger dashboard_invitations_changed after update on invitations
    referencing old table as old_invitations new table as new_invitations for each statement
    execute function dashboard_invitations_changed();

create function dashboard_invitations_removed() returns trigger language plpgsql as $$
begin
    perform dashboard_restate(array(
        select sender_id from old_invitations union select recipient_id from old_invitations));
    insert into dashboard_deltas (scope, day, what, n)
    select s.scope, f.day, f.what, -count(*)
    from old_invitations i
    cross join lateral dashboard_invitation_facts(
        i.status, i.created_at, i.answered_at, i.expires_at) f
    cross join lateral (
        select 0::bigint as scope
        union all select e.event_id from event_members e where e.user_id = i.sender_id
    ) s
    group by 1, 2, 3;
    return null;
end
$$;
create trigger dashboard_invitations_removed after delete on invitations
    referencing old table as old_invitations for each statement
    execute function dashboard_invitations_removed();

-- Teams by size (everyone's): a team whose members changed by `added` (per team, less
-- the removed) leaves its old size and takes its new one. Only the teams touched are
-- counted, each by its index.
create function dashboard_resize(team_ids bigint[], added bigint[]) returns void
    language plpgsql set plan_cache_mode = force_generic_plan as $$
begin
    insert into dashboard_deltas (scope, day, what, n)
    select 0, '-infinity', 'team_size:' || f.size, sum(f.n)
    from (
        select c.added, (select count(*) from team_members m where m.team_id = c.team_id)
            as now
        from unnest(team_ids, added) as c (team_id, added)
    ) t
    cross join lateral (
        select t.now - t.added as size, -1 as n
        union all
        select t.now, 1
    ) f
    where f.size > 0
    group by f.size
    having sum(f.n) <> 0;
end
$$;

-- team members: in a team (everyone in the teams touched: a team of one becomes two), and
-- when they joined; a team handed over changes who joined someone else's team
create function dashboard_members_added() returns trigger language plpgsql as $$
begin
    perform dashboard_resize(array(select team_id from new_members group by 1 order by 1),
        array(select count(*) from new_members group by team_id order by team_id));
    perform dashboard_restate(array(
        select m.user_id from team_members m
        where m.team_id in (select team_id from new_members)));
    return null;
end
$$;
create trigger dashboard_members_added after insert on team_members
    referencing new table as new_members for each statement
    execute function dashboard_members_added();

create function dashboard_members_removed() returns trigger language plpgsql as $$
begin
    perform dashboard_resize(array(select team_id from old_members group by 1 order by 1),
        array(select -count(*) from old_members group by team_id order by team_id));
    perform dashboard_restate(array(
        select user_id from old_members
        union select m.user_id from team_members m
        where m.team_id in (select team_id from old_members)));
    return null;
end
$$;
create trigger dashboard_members_removed after delete on team_members
    referencing old table as old_members for each statement
    execute function dashboard_members_removed();

create function dashboard_members_changed() returns trigger language plpgsql as $$
begin
    perform dashboard_resize(
        array(select team_id from (select team_id, 1 as n from new_members
              union all select team_id, -1 from old_members) c group by 1 order by 1),
        array(select sum(n) from (select team_id, 1 as n from new_members
              union all select team_id, -1 from old_members) c group by team_id
              order by team_id));
    perform dashboard_restate(array(
        select user_id from old_members union select user_id from new_members
        union select m.user_id from team_members m
        where m.team_id in (select team_id from old_members union select team_id from new_members)));
    return null;
end
$$;
create trigger dashboard_members_changed after update on team_members
    referencing old table as old_members new table as new_members for each statement
    execute function dashboard_members_changed();

create function dashboard_teams_changed() returns trigger language plpgsql as $$
begin
    perform dashboard_restate(array(
        select m.user_id from team_members m
        join old_teams o on o.id = m.team_id join new_teams n on n.id = o.id
        where o.owner_id <> n.owner_id));
    return null;
end
$$;
create trigger dashboard_teams_changed after update on teams
    referencing old table as old_teams new table as new_teams for each statement
    execute function dashboard_teams_changed();

-- event members: the person's figures and their invitations' go to (or leave) the event
create function dashboard_event_members_added() returns trigger language plpgsql as $$
begin
    insert into dashboard_deltas (scope, day, what, n)
    select m.event_id, f.day, f.what, count(*)
    from new_event_members m
    join dashboard_people p on p.user_id = m.user_id
    cross join lateral dashboard_person_facts(p) f
    group by 1, 2, 3;
    insert into dashboard_deltas (scope, day, what, n)
    select m.event_id, f.day, f.what, count(*)
    from new_event_members m
    join invitations i on i.sender_id = m.user_id
    cross join lateral dashboard_invitation_facts(
        i.status, i.created_at, i.answered_at, i.expires_at) f
    group by 1, 2, 3;
    return null;
end
$$;
create trigger dashboard_event_members_added after insert on event_members
    referencing new table as new_event_members for each statement
    execute function dashboard_event_members_added();

create function dashboard_event_members_removed() returns trigger language plpgsql as $$
begin
    insert into dashboard_deltas (scope, day, what, n)
    select m.event_id, f.day, f.what, -count(*)
    from old_event_members m
    join dashboard_people p on p.user_id = m.user_id
    cross join lateral dashboard_person_facts(p) f
    group by 1, 2, 3;
    insert into dashboard_deltas (scope, day, what, n)
    select m.event_id, f.day, f.what, -count(*)
    from old_event_members m
    join invitations i on i.sender_id = m.user_id
    cross join lateral dashboard_invitation_facts(
        i.status, i.created_at, i.answered_at, i.expires_at) f
    group by 1, 2, 3;
    return null;
end
$$;
create trigger dashboard_event_members_removed after delete on event_members
    referencing old table as old_event_members for each statement
    execute function dashboard_event_members_removed();

-- An event member moved (the bot never does it; by hand): both of the above. A row
-- trigger whose condition is checked without calling it: the member rows' last_active
-- (0019) changes with every person's and costs nothing here.
create function dashboard_event_member_moved() returns trigger language plpgsql as $$
begin
    insert into dashboard_deltas (scope, day, what, n)
    select m.event_id, f.day, f.what, sum(m.n)
    from (select new.event_id as event_id, new.user_id as user_id, 1 as n
          union all select old.event_id, old.user_id, -1) m
    join dashboard_people p on p.user_id = m.user_id
    cross join lateral dashboard_person_facts(p) f
    group by 1, 2, 3 having sum(m.n) <> 0;
    insert into dashboard_deltas (scope, day, what, n)
    select m.event_id, f.day, f.what, sum(m.n)
    from (select new.event_id as event_id, new.user_id as user_id, 1 as n
          union all select old.event_id, old.user_id, -1) m
    join invitations i on i.sender_id = m.user_id
    cross join lateral dashboard_invitation_facts(
        i.status, i.created_at, i.answered_at, i.expires_at) f
    group by 1, 2, 3 having sum(m.n) <> 0;
    return null;
end
$$;
create trigger dashboard_event_member_moved after update on event_members for each row
    when (old.event_id is distinct from new.event_id or old.user_id is distinct from new.user_id)
    execute function dashboard_event_member_moved();

-- the backfill
insert into dashboard_people select * from dashboard_people_now;
insert into dashboard_counts (scope, day, what, n)
select scope, day, what, sum(n) from dashboard_recount() group by 1, 2, 3;
-- from here on, each change of a person's row adds its figures' differences
create trigger dashboard_person_changed after insert or update or delete on dashboard_people
    for each row execute function dashboard_person_changed();
analyze dashboard_people;
analyze dashboard_counts;
