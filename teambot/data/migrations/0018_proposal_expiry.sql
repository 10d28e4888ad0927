-- An auto-fill proposal nobody finished answering expires after the invitations' time
-- (CLEANUP_EXPIRED_INVITATIONS_HOURS, counted from its run): the cleanup job dissolves
-- the group, closes its messages and frees its people for the next auto-fill.
alter table event_proposals drop constraint event_proposals_status_check;
alter table event_proposals add constraint event_proposals_status_check
    check (status in ('pending', 'formed', 'failed', 'expired'));
-- the job's look for groups still open, in id order: the few pending ones, not every group
-- ever proposed
create index event_proposals_pending_idx on event_proposals (id) where status = 'pending';
