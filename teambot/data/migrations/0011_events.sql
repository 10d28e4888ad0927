-- Events (issue 13): a cohort, a hackathon, a demo day. An organizer makes one and shares
-- its link (t.me/<bot>?start=ev_<slug>); opening it puts a person into the event's pool.
create table events (
    id              bigint generated always as identity primary key,
    slug            text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{2,40}$'),
    name            text not null check (length(name) between 1 and 100),
    starts_on       date not null,
    ends_on         date not null,
    team_size_limit smallint check (team_size_limit between 2 and 50),
    created_by      bigint references users (id) on delete set null,
    created_at      timestamptz not null default now(),
    ended_at        timestamptz,   -- ended by an organizer before ends_on
    check (ends_on >= starts_on)
);

-- A person may be in several events.
create table event_members (
    event_id  bigint not null references events (id) on delete cascade,
    user_id   bigint not null references users (id) on delete cascade,
    joined_at timestamptz not null default now(),
    primary key (event_id, user_id)
);
create index event_members_user_idx on event_members (user_id);
