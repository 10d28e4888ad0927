-- Webhook mode: each update Telegram POSTs is stored here before the POST is answered, so
-- an update Telegram counts as delivered is never lost. Handling removes the row (and
-- records the id in handled_updates, which keeps a redelivered copy from coming back in).
create table inbox (
    update_id bigint primary key,
    body jsonb not null,
    received_at timestamptz not null default now()
);
