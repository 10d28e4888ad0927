-- The dashboard's one-time links (issue 13): a link's id is written here when it is used,
-- so a second use is refused, also after a restart. A link lives 10 minutes (its signature
-- says when it was made), so rows older than that are deleted as new ones come.
create table dashboard_links_used (
    link_id  text primary key check (length(link_id) <= 64),
    used_at  timestamptz not null default now()
);
create index dashboard_links_used_at_idx on dashboard_links_used (used_at);
