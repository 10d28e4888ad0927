-- The update whose handling last wrote a dialogue row. An update delivered again (a crash
-- came before it was recorded as handled) must not take its dialogue step twice: the name
-- typed at "your name?" would otherwise be read again as the answer to "your skills?".
alter table fsm_states add column update_id bigint;
