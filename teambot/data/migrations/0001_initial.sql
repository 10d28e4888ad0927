-- People, teams and invitations. Users are soft-deleted (deleted_at) and purged later.
create table users (
    id            bigint primary key,               -- Telegram user id
    username      text,
    first_name    text not null default '',
    last_name     text,
    display_name  text not null default '',
    language      text not null default 'en' check (language in ('en', 'ru')),
    user_type     text check (user_type in ('participant', 'cofounder', 'team')),
    bio           text not null default '' check (length(bio) <= 500),
    skills        text[] not null default '{}',
    looking_for   text[] not null default '{}',
    is_searching  boolean not null default false,
    is_banned     boolean not null default false,
    last_active   timestamptz not null default now(),
    created_at    timestamptz not null default now(),
    deleted_at    timestamptz
);

-- The search query: searching users of one type who are not deleted.
create index users_active_search_idx on users (user_type, last_active desc)
    where is_searching and deleted_at is null and not is_banned;
-- The inactivity cleanup: searching users ordered by last activity.
create index users_last_active_idx on users (last_active)
    where is_searching and deleted_at is null;
create index users_deleted_at_idx on users (deleted_at) where deleted_at is not null;

create table teams (
    id           bigint generated always as identity primary key,
    owner_id     bigint not null references users (id) on delete cascade,
    name         text not null check (length(name) between 1 and 100),
    description  text not null default '' check (length(description) <= 1000),
    roles_needed text[] not null default '{}',
    join_token   text unique,
    created_at   timestamptz not null default now()
);
create index teams_owner_idx on teams (owner_id);

create table team_members (
    team_id   bigint not null references teams (id) on delete cascade,
    user_id   bigint not null references users (id) on delete cascade,
    joined_at timestamptz not null default now(),
    primary key (team_id, user_id)
);
create index team_members_user_idx on team_members (user_id);

create table invitations (
    id           bigint generated always as identity primary key,
    sender_id    bigint not null references users (id) on delete cascade,
    recipient_id bigint not null references users (id) on delete cascade,
    team_id      bigint references teams (id) on delete cascade,
    kind         text not null check (kind in ('invite', 'request', 'connect')),
    note         text not null default '' check (length(note) <= 300),
    status       text not null default 'pending'
                 check (status in ('pending', 'accepted', 'declined', 'expired', 'cancelled')),
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    answered_at  timestamptz,
    check (sender_id <> recipient_id)
);
-- At most one pending invitation between two people, whichever way it goes.
create unique index invitations_one_pending_per_pair_idx
    on invitations (least(sender_id, recipient_id), greatest(sender_id, recipient_id))
    where status = 'pending';
create index invitations_recipient_pending_idx on invitations (recipient_id, created_at)
    where status = 'pending';
create index invitations_sender_idx on invitations (sender_id, created_at);
-- The expiry cleanup scans only pending rows by deadline.
create index invitations_expiry_idx on invitations (expires_at) where status = 'pending';
create index invitations_team_idx on invitations (team_id) where team_id is not null;

-- Update ids whose handling finished: a redelivered update (crash before Telegram saw the
-- confirmation) is skipped instead of acted on twice. Telegram keeps updates 24 h.
create table handled_updates (
    update_id  bigint primary key,
    handled_at timestamptz not null default now()
);
create index handled_updates_handled_at_idx on handled_updates (handled_at);
