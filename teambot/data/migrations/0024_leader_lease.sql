-- The leader's lease and its fence (teambot/adapters/leader_lock.py). One row: the session
-- name (application_name) of the instance that leads, renewed by it every second. A standby
-- that finds it not renewed for a few seconds ends that instance's sessions and writes its
-- own name here (epoch + 1).
create table leader_lease (
    one boolean primary key default true check (one),
    holder text not null,  -- '' when nobody leads
    epoch bigint not null,
    renewed_at timestamptz not null
);
insert into leader_lease (holder, epoch, renewed_at) values ('', 0, '-infinity');

-- The fence: a teambot instance's session (application_name 'teambot/…') that is not the
-- lease's holder cannot write the outbox (messages, claims, sent-marks), the handled marks
-- or the inbox's removals. A leader frozen and replaced meanwhile has its transaction
-- refused by the database when it thaws, whatever its own clock says. Other sessions
-- (tools, tests, psql) are not fenced. SQLSTATE 55000: an OperationalError to psycopg, so
-- the bot treats it as the database being away (the work is retried, nothing is marked)
-- while the instance steps down.
create function refuse_unless_leading() returns trigger language plpgsql as $$
declare
    me text := current_setting('application_name');
begin
    if me like 'teambot/%' and not exists (select from leader_lease where holder = me) then
        raise exception 'session % is not the leader: its write to % is refused', me, tg_table_name
            using errcode = '55000', hint = 'another instance took the lead (fencing)';
    end if;
    return null;
end $$;

create trigger outbox_fenced before insert or update or delete on outbox
    for each statement execute function refuse_unless_leading();
create trigger handled_updates_fenced before insert on handled_updates
    for each statement execute function refuse_unless_leading();
create trigger inbox_fenced before delete on inbox
    for each statement execute function refuse_unless_leading();
