-- Teams: /team lists a team's pending join requests, oldest first, for any of its members.
create index invitations_team_pending_idx on invitations (team_id, created_at)
    where status = 'pending' and team_id is not null;
-- A team's member list, in the order people joined (the primary key leads with team_id but
-- does not order by time).
create index team_members_team_joined_idx on team_members (team_id, joined_at);
-- Join links are looked up by token; `join_token text unique` (0001) already indexes it.
