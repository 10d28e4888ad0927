-- aiogram dialogue state (registration and other multi-step dialogues) lives here, so a
-- restart in the middle of a dialogue loses nothing.
create table fsm_states (
    key        text primary key,
    state      text,
    data       jsonb not null default '{}'::jsonb,
    updated_at timestamptz not null default now()
);
create index fsm_states_updated_at_idx on fsm_states (updated_at);
