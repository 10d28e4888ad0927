-- An update's first read (the person's row and their dialogue) is made for many updates at
-- once, before their transactions begin (actors/pipeline/reads.py). Each transaction then
-- begins with this check that the rows are still the versions it read (xmin: any write
-- gives a row a new one), so its handler saw what a read at its BEGIN would have seen.
-- When not, it fails as a serialization failure, and the update is handled again from a
-- read inside its transaction. A null person skips that row: the person was new, and the
-- transaction creates them.
create function first_read_is_current(
    person bigint, person_version xid, dialogue text, dialogue_version xid
) returns void language plpgsql as $$
begin
    if (person is not null
            and (select xmin from users where id = person) is distinct from person_version)
        or (select xmin from fsm_states where key = dialogue) is distinct from dialogue_version
    then
        raise exception 'the first read of an update is out of date'
            using errcode = 'serialization_failure';
    end if;
end
$$;
