-- The buttons under a /search card carry a reference to the card, not the Telegram id of
-- the person on it (that id is their contact, theirs to share by accepting). A reference
-- belongs to one viewer: a press is resolved only for the person the card was shown to,
-- so a forged or someone else's reference finds nothing. One per viewer and person shown.
create table search_cards (
    id           bigint generated always as identity primary key,
    viewer_id    bigint not null references users (id) on delete cascade,
    candidate_id bigint not null references users (id) on delete cascade,
    created_at   timestamptz not null default now(),
    unique (viewer_id, candidate_id)
);
-- Erasing a user deletes the cards they were shown on (the unique index covers viewers).
create index search_cards_candidate_idx on search_cards (candidate_id);
