-- Messages to send, written in the same transaction as the change they tell about (an
-- update's handling, a cleanup batch, a digest), and sent after it commits. A crash after
-- the commit leaves them here, and the outbox actor sends them at the next start; nothing
-- of a transaction that did not commit is ever sent.
create table outbox (
    id            bigint primary key,  -- handed out in blocks (outbox_id_blocks), in order
    update_id     bigint,              -- the update whose handling wrote it; null: a job
    chat_id       bigint,              -- whom it goes to (null: answering a button press)
    method        text not null,       -- the Bot API method, e.g. sendMessage
    payload       jsonb not null,      -- its fields as Telegram takes them
    background    boolean not null default false,  -- yields to replies
    -- sent to someone else on the actor's behalf: if Telegram refuses it (they blocked the
    -- bot), this message goes to the actor instead: {chat_id, text}
    if_undelivered jsonb,
    created_at    timestamptz not null default now(),
    -- who sends it: the worker that wrote it (claimed when written), else the outbox sweep;
    -- released when it is left for later, and free for anyone after a restart
    claimed_at    timestamptz,
    sent_at       timestamptz,         -- delivered, refused or given up: done either way
    message_id    bigint,              -- what Telegram gave the message it sent
    error         text                 -- why it was not delivered
);
create index outbox_unsent on outbox (id) where sent_at is null;
create index outbox_sent_at on outbox (sent_at) where sent_at is not null;

-- A provisional message id is the negative of an outbox row's id: a handler that sends a
-- message gets one at once, and an edit that names it later is resolved when it is sent.
create sequence outbox_id_blocks;
