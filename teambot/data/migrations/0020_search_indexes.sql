-- teambot: no transaction
-- The indexes of the skill filter and of event pools (teambot/data/search.py), built
-- CONCURRENTLY: writes to users go on while they build (migration 0016's plain CREATE INDEX
-- blocked them 4 to 12 s per index at a million people). Outside a transaction (the first
-- line), one statement at a time: every statement here is safe to run again after an
-- interrupted start (teambot/data/migrations.py rebuilds an index left invalid).

-- each build sorts its entries in memory rather than in files (the session's setting: the
-- runner resets it after the last statement)
set maintenance_work_mem = '256MB';

-- fill the member rows' copy of last_active (0019's triggers keep it from then on): only
-- the rows still without it, or changed in between, so a rerun has little left to do. In
-- eight parts, each its own transaction: while a part runs, a person whose row it holds
-- waits for its commit to change their last_active (0019's trigger writes their row); the
-- whole table in one statement held such writes up to 0.1 s at a million people
update event_members m set last_active = u.last_active from users u
where u.id = m.user_id and m.last_active is distinct from u.last_active and m.user_id % 8 = 0;
update event_members m set last_active = u.last_active from users u
where u.id = m.user_id and m.last_active is distinct from u.last_active and m.user_id % 8 = 1;
update event_members m set last_active = u.last_active from users u
where u.id = m.user_id and m.last_active is distinct from u.last_active and m.user_id % 8 = 2;
update event_members m set last_active = u.last_active from users u
where u.id = m.user_id and m.last_active is distinct from u.last_active and m.user_id % 8 = 3;
update event_members m set last_active = u.last_active from users u
where u.id = m.user_id and m.last_active is distinct from u.last_active and m.user_id % 8 = 4;
update event_members m set last_active = u.last_active from users u
where u.id = m.user_id and m.last_active is distinct from u.last_active and m.user_id % 8 = 5;
update event_members m set last_active = u.last_active from users u
where u.id = m.user_id and m.last_active is distinct from u.last_active and m.user_id % 8 = 6;
update event_members m set last_active = u.last_active from users u
where u.id = m.user_id and m.last_active is distinct from u.last_active and m.user_id % 8 = 7;

-- an event's members, most recently active first: the event pool's freshness windows
create index concurrently event_members_recent_idx
    on event_members (event_id, last_active desc, user_id);

-- A skill filter: for each skill of the curated list (teambot/services/skills.py: CURATED,
-- what people pick from; a test checks that each has its index), the searching people who
-- have it, most recently active first. A search reads its window straight from the index,
-- as a search without a filter does from users_search_recent_idx: no test of nine entries
-- of users_search_tags_idx per holder, no second visit by key (31 ms p95 at a million).
-- Each person is in the indexes of their own skills only: a change of last_active writes
-- one entry more per curated skill they have. A free tag (and a skill with a role or an
-- hours filter, whose indexes test the skill themselves) searches as before.
create index concurrently users_skill_python_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{python}';
create index concurrently users_skill_javascript_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{javascript}';
create index concurrently users_skill_typescript_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{typescript}';
create index concurrently users_skill_go_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{go}';
create index concurrently users_skill_java_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{java}';
create index concurrently users_skill_rust_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{rust}';
create index concurrently users_skill_mobile_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{mobile}';
create index concurrently users_skill_frontend_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{frontend}';
create index concurrently users_skill_backend_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{backend}';
create index concurrently users_skill_devops_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{devops}';
create index concurrently users_skill_ml_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{ml}';
create index concurrently users_skill_data_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{data}';
create index concurrently users_skill_design_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{design}';
create index concurrently users_skill_product_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{product}';
create index concurrently users_skill_marketing_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{marketing}';
create index concurrently users_skill_sales_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{sales}';
create index concurrently users_skill_finance_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{finance}';
create index concurrently users_skill_legal_idx on users (last_active desc, id)
    where is_searching and deleted_at is null and not is_banned and registered_at is not null
      and skills @> '{legal}';
