-- Auto-fill (issue 13): an organizer asks the bot to suggest teams for an event's people
-- still without one. Each press is a run; each run proposes groups; each proposed member
-- answers. Nobody joins a team until every member of their group has accepted.
create table event_autofills (
    id                bigint generated always as identity primary key,
    event_id          bigint not null references events (id) on delete cascade,
    organizer_id      bigint references users (id) on delete set null,
    unplaced          integer not null default 0,  -- people of the pool no group took
    -- the organizer's report, edited as answers come in (a provisional id until sent)
    report_message_id bigint,
    created_at        timestamptz not null default now()
);

create table event_proposals (
    id          bigint generated always as identity primary key,
    autofill_id bigint not null references event_autofills (id) on delete cascade,
    number      smallint not null check (number >= 1),  -- "group 3" of the run
    -- the team the group would join (its owner is the group's first member); null: a new one
    team_id     bigint references teams (id) on delete set null,
    status      text not null default 'pending' check (status in ('pending', 'formed', 'failed')),
    formed_team bigint references teams (id) on delete set null,
    decided_at  timestamptz,
    unique (autofill_id, number)
);

create table event_proposal_members (
    proposal_id bigint not null references event_proposals (id) on delete cascade,
    user_id     bigint not null references users (id) on delete cascade,
    position    smallint not null,  -- 0: the group's first member (a team's owner, if any)
    answer      text not null default 'pending' check (answer in ('pending', 'accepted', 'declined')),
    message_id  bigint,             -- the proposal with its buttons (provisional until sent)
    primary key (proposal_id, user_id)
);
-- someone with a proposal still open is not proposed again
create index event_proposal_members_user_idx on event_proposal_members (user_id);
