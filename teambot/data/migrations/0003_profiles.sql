-- Profiles, search and moderation.
alter table users
    add column registered_at        timestamptz,
    add column inactive_notified_at timestamptz,
    add column digest_sent_at       timestamptz,
    add column ban_notified         boolean not null default false;

-- Search filters by skill ("/search python") and ranks by overlap of skills and wants.
create index users_skills_gin_idx on users using gin (skills)
    where is_searching and deleted_at is null and not is_banned;
create index users_looking_for_gin_idx on users using gin (looking_for)
    where is_searching and deleted_at is null and not is_banned;

-- "Hide": never show this person to me again.
create table hidden_users (
    user_id   bigint not null references users (id) on delete cascade,
    hidden_id bigint not null references users (id) on delete cascade,
    primary key (user_id, hidden_id)
);

create table reports (
    id          bigint generated always as identity primary key,
    reporter_id bigint not null references users (id) on delete cascade,
    reported_id bigint not null references users (id) on delete cascade,
    created_at  timestamptz not null default now(),
    unique (reporter_id, reported_id)
);

-- One team per owner; a person is in at most one team.
create unique index teams_one_per_owner_idx on teams (owner_id);
create unique index team_members_one_team_idx on team_members (user_id);
