-- Messages that still show live buttons for a pending invitation: the recipient's notice,
-- the sender's "sent" with its Cancel, /invitations, /team's join requests. When the
-- invitation is answered, cancelled or expires, each is edited to say what happened and
-- loses its keyboard; the row goes then (or with the invitation).
create table invitation_messages (
    invitation_id bigint not null references invitations (id) on delete cascade,
    chat_id       bigint not null,
    message_id    bigint not null,
    body          text not null,  -- the HTML shown: the edit keeps it and adds the outcome
    language      text not null check (language in ('en', 'ru')),
    primary key (invitation_id, chat_id, message_id)
);

-- Telegram refused a message to them (they blocked the bot, or never started it): out of
-- search until they write to the bot again.
alter table users add column unreachable_since timestamptz;
