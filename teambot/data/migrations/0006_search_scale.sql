-- /search at 100 000 users ranks level by level (teambot/data/search.py) instead of scoring
-- every visible candidate.

-- The levels walk the searching users most recently active first, whatever their type
-- (users_active_search_idx leads with one type: it stays for counting a rare type).
create index users_search_recent_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null;

-- One GIN index over both tag columns answers "has my want AND wants my skill" (and a
-- skill filter AND either) in one scan, where two single-column indexes left the planner
-- scanning one and rechecking thousands of rows for the other. It replaces them (digests
-- use it for looking_for alone). No pending list: every update bumps last_active and
-- would add to it, and each search would read it through.
create index users_tags_gin_idx on users using gin (skills, looking_for)
    with (fastupdate = off)
    where is_searching and deleted_at is null and not is_banned;
drop index users_skills_gin_idx;
drop index users_looking_for_gin_idx;

-- The search leaves out whoever I have a pending invitation with: the ones I sent
-- (the ones I received have invitations_recipient_pending_idx).
create index invitations_sender_pending_idx on invitations (sender_id) where status = 'pending';
