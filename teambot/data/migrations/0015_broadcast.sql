-- Announcements from the organizers (issue 13): an admin writes one, picks who gets it,
-- and the broadcast actor (teambot/actors/broadcast.py) writes it into the outbox a batch
-- at a time, each batch with the advance of its cursor, so a restart resumes where it was.
-- a short wait for the users table's lock, tried again by teambot/data/migrations.py: an
-- ALTER waiting behind a long reader would hold up every query on users (bench/migration.py)
set local lock_timeout = '300ms';

-- a person may turn announcements off in /profile (a constant default: no table rewrite)
alter table users add column announcements boolean not null default true;

create table broadcasts (
    id           bigint generated always as identity primary key,
    admin_id     bigint not null,   -- the Telegram id of the admin who sent it
    body         text not null check (length(body) between 1 and 8000),  -- as sent (HTML)
    audience     text not null check (audience in ('everyone', 'teamless', 'event')),
    event_id     bigint references events (id) on delete set null,
    status       text not null default 'sending' check (status in ('sending', 'stopped', 'done')),
    total        integer not null,  -- recipients when it was confirmed
    -- the admin's message that shows the progress (a provisional id while unsent: the
    -- outbox resolves it when it edits the message)
    progress_chat       bigint not null,
    progress_message_id bigint not null,
    created_at   timestamptz not null default now(),
    finished_at  timestamptz,       -- done or stopped, and the admin told
    -- the tally when it finished (the outbox forgets sent rows after a week)
    delivered    integer,
    undelivered  integer,
    left_out     integer
);
create index broadcasts_unfinished on broadcasts (id) where finished_at is null;

-- Who gets it: fixed when the admin confirms. A row is waiting until its message is
-- written into the outbox (outbox_id) or it is left out (the person turned announcements
-- off, was banned, left or became unreachable meanwhile).
create table broadcast_recipients (
    broadcast_id bigint not null references broadcasts (id) on delete cascade,
    user_id      bigint not null references users (id) on delete cascade,
    outbox_id    bigint,
    left_out     boolean not null default false,
    primary key (broadcast_id, user_id)
);
create index broadcast_recipients_waiting on broadcast_recipients (broadcast_id, user_id)
    where outbox_id is null and not left_out;
-- the actor's pacing: which of the outbox's unsent rows are this broadcast's
create index broadcast_recipients_outbox on broadcast_recipients (outbox_id)
    where outbox_id is not null;
