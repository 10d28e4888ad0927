-- A person's figures in an event depend on rows written by different updates: the
-- person's own (dashboard_people, the invitations they sent) and their membership of the
-- event (event_members). Two transactions changing one of each for the same person at once
-- each read the other's change as not yet committed, and the event's figures lost it (an
-- answer and a join at the same moment: tests/test_dashboard.py). And a person's row
-- computed again (dashboard_restate) from a snapshot older than another writer's change to
-- it wrote the older values over it (their "searched" lost).
--
-- Now every trigger that reads a person's rows to count them into their events, or their
-- events to count their rows, first locks the people's dashboard_people rows (in id
-- order, as a plain UPDATE of them would), and so does the recount before it reads; the
-- statements after the lock see what the other writer committed. Writers about different
-- people never wait for each other. Row locks: no limit on how many a bulk change takes.

create function dashboard_lock_people(ids bigint[]) returns void language plpgsql as $$
begin
    perform from dashboard_people where user_id = any (ids) order by user_id
        for no key update;
end
$$;

-- as 0021's, each person's row locked before it is computed again
create or replace function dashboard_restate(ids bigint[]) returns void language plpgsql
    set plan_cache_mode = force_generic_plan as $$
declare
    one bigint;
begin
    if cardinality(ids) > 100 then
        perform dashboard_lock_people(ids);
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
        perform from dashboard_people where user_id = one for no key update;
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

create or replace function dashboard_invitations_added() returns trigger language plpgsql as $$
begin
    perform dashboard_lock_people(array(
        select sender_id from new_invitations union select recipient_id from new_invitations));
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

create or replace function dashboard_invitations_changed() returns trigger language plpgsql as $$
begin
    perform dashboard_lock_people(array(
        select sender_id from old_invitations union select recipient_id from old_invitations
        union select sender_id from new_invitations
        union select recipient_id from new_invitations));
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

create or replace function dashboard_invitations_removed() returns trigger language plpgsql as $$
begin
    perform dashboard_lock_people(array(
        select sender_id from old_invitations union select recipient_id from old_invitations));
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

create or replace function dashboard_event_members_added() returns trigger language plpgsql as $$
begin
    perform dashboard_lock_people(array(select user_id from new_event_members));
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

create or replace function dashboard_event_members_removed() returns trigger language plpgsql as $$
begin
    perform dashboard_lock_people(array(select user_id from old_event_members));
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

create or replace function dashboard_event_member_moved() returns trigger language plpgsql as $$
begin
    perform dashboard_lock_people(array[old.user_id, new.user_id]);
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
