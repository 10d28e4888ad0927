-- The dashboard's one-time links (issue 13): a link's id is written here when it is used,
-- so a second use is refused, also after a restart. A link lives 10 minutes (its signature
-- says when it was made), so rows older than that are deleted as new ones come.
create table dashboard_links_used (
    link_id  text primary key check (length(link_id) <= 64),
    used_at  timestamptz not null default now()
);
create index dashboard_links_used_at_idx on dashboard_links_used (used_at);

-- The funnel's "accepted" stage: the people on either side of an accepted invitation,
-- read from these indexes alone (bench/dashboard.py: scanning the table cost most of the
-- page at 1 000 000 invitations).
create index invitations_accepted_sender_idx on invitations (sender_id)
    where status = 'accepted';
create index invitations_accepted_recipient_idx on invitations (recipient_id)
    where status = 'accepted';
