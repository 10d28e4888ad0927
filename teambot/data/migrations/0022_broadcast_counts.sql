-- The admin's progress figures (broadcasts.progress, every 3 s while a broadcast runs) from
-- counters and index-bounded counts instead of the broadcast's every recipient and outbox
-- row (issue 13): a broadcast keeps how many of its messages are written to the outbox
-- (written_count), how many people were left out (skipped_count) and its lowest outbox id
-- (first_outbox), kept by a trigger in the statements that change its recipients. Of the
-- written ones, the unsent are few (outbox_unsent) and the undelivered are found by
-- outbox_undelivered from first_outbox on; the rest were delivered.
--
-- Plain: outbox_undelivered is built under a lock that holds the outbox's writes for as
-- long as the build (its rows with an error are few; the scan is the outbox's size).
set local lock_timeout = '300ms';

alter table broadcasts
    add column written_count integer not null default 0,
    add column skipped_count integer not null default 0,
    add column first_outbox bigint;

create index outbox_undelivered on outbox (id) where error is not null;

create function broadcast_recipients_counted() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        update broadcasts b set written_count = b.written_count - c.written,
            skipped_count = b.skipped_count - c.skipped
        from (select broadcast_id, count(outbox_id) as written,
                     count(*) filter (where left_out) as skipped
              from old_recipients group by broadcast_id) c
        where b.id = c.broadcast_id and (c.written, c.skipped) <> (0, 0);
    end if;
    if tg_op in ('UPDATE', 'INSERT') then
        update broadcasts b set written_count = b.written_count + c.written,
            skipped_count = b.skipped_count + c.skipped,
            first_outbox = least(b.first_outbox, c.first_outbox)
        from (select broadcast_id, count(outbox_id) as written,
                     count(*) filter (where left_out) as skipped, min(outbox_id) as first_outbox
              from new_recipients group by broadcast_id) c
        where b.id = c.broadcast_id and (c.written, c.skipped) <> (0, 0);
    end if;
    return null;
end
$$;
create trigger broadcast_recipients_added after insert on broadcast_recipients
    referencing new table as new_recipients for each statement
    execute function broadcast_recipients_counted();
create trigger broadcast_recipients_changed after update on broadcast_recipients
    referencing old table as old_recipients new table as new_recipients for each statement
    execute function broadcast_recipients_counted();
create trigger broadcast_recipients_removed after delete on broadcast_recipients
    referencing old table as old_recipients for each statement
    execute function broadcast_recipients_counted();

update broadcasts b set written_count = c.written, skipped_count = c.skipped,
    first_outbox = c.first_outbox
from (select broadcast_id, count(outbox_id) as written,
             count(*) filter (where left_out) as skipped, min(outbox_id) as first_outbox
      from broadcast_recipients group by broadcast_id) c
where b.id = c.broadcast_id;
