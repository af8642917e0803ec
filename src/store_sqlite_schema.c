/* store_sqlite_schema.c - the SQLite schema, as numbered migrations.
 *
 * Part of the SQLite driver (store_sqlite.c applies these). Migration k
 * (1-based, store_sqlite_migrations[k-1]) moves a database from schema
 * version k-1 to k; each runs in its own transaction together with the update
 * of meta.schema_version. Never edit a released migration: add a new one and
 * raise STORE_SCHEMA_VERSION. store_pg_schema.c holds the same schema for
 * PostgreSQL and must stay in step with this file.
 *
 * Unit subtrees are found by code range: a unit's descendants are the units
 * whose code starts with its significant prefix (domain_unit_prefix()), so
 * the unique index on units.code serves subtree queries. */
#include "store_sqlite_schema.h"

#include <stddef.h>

const char *const store_sqlite_migrations[] = {
    /* 1: meta, organisation, residents, enterprises, groups, staff, knowledge */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
    "CREATE TABLE units("
    " id INTEGER PRIMARY KEY,"
    " code TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " level TEXT NOT NULL CHECK(level IN('district','street','community','grid')),"
    " parent_id INTEGER REFERENCES units(id),"
    " CHECK((level='district')=(parent_id IS NULL))) STRICT;"
    "CREATE INDEX units_parent ON units(parent_id);"
    "CREATE TABLE households("
    " id INTEGER PRIMARY KEY,"
    " code TEXT NOT NULL UNIQUE,"
    " grid_id INTEGER NOT NULL REFERENCES units(id),"
    " address TEXT NOT NULL,"
    " size INTEGER NOT NULL CHECK(size BETWEEN 1 AND 99),"
    " phone TEXT NOT NULL DEFAULT '') STRICT;"
    "CREATE INDEX households_grid ON households(grid_id);"
    "CREATE TABLE enterprises("
    " id INTEGER PRIMARY KEY,"
    " uscc TEXT NOT NULL UNIQUE CHECK(length(uscc)=18),"
    " name TEXT NOT NULL,"
    " industry TEXT NOT NULL,"
    " grid_id INTEGER NOT NULL REFERENCES units(id)) STRICT;"
    "CREATE INDEX enterprises_grid ON enterprises(grid_id);"
    "CREATE TABLE chat_groups("
    " id INTEGER PRIMARY KEY,"
    " platform TEXT NOT NULL CHECK(platform IN('wechat','wecom','dingtalk','feishu','webhook')),"
    " external_id TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN('resident','enterprise')),"
    " unit_id INTEGER NOT NULL REFERENCES units(id),"
    " name TEXT NOT NULL,"
    " members INTEGER NOT NULL DEFAULT 0 CHECK(members>=0),"
    " target TEXT NOT NULL DEFAULT '',"
    " UNIQUE(platform, external_id)) STRICT;"
    "CREATE INDEX chat_groups_unit ON chat_groups(unit_id);"
    "CREATE TABLE staff("
    " id INTEGER PRIMARY KEY,"
    " account TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " phone TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK(role IN('grid_worker','community','street','district',"
    "'department','admin')),"
    " unit_id INTEGER NOT NULL REFERENCES units(id),"
    " department TEXT NOT NULL DEFAULT '') STRICT;"
    "CREATE INDEX staff_unit ON staff(unit_id);"
    "CREATE TABLE policies("
    " id INTEGER PRIMARY KEY,"
    " code TEXT NOT NULL UNIQUE,"
    " title TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " audience TEXT NOT NULL CHECK(audience IN('resident','enterprise','both')),"
    " department TEXT NOT NULL,"
    " summary TEXT NOT NULL,"
    " eligibility TEXT NOT NULL,"
    " how_to_apply TEXT NOT NULL,"
    " keywords TEXT NOT NULL) STRICT;"
    "CREATE TABLE lexicon("
    " id INTEGER PRIMARY KEY,"
    " term TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK(kind IN('literal','pattern')),"
    " intent TEXT NOT NULL DEFAULT '',"
    " category TEXT NOT NULL DEFAULT '',"
    " weight REAL NOT NULL DEFAULT 1.0,"
    " action TEXT NOT NULL DEFAULT '') STRICT;",

    /* 2: messages, cases with their append-only log, leads */
    "CREATE TABLE messages("
    " id INTEGER PRIMARY KEY,"
    " group_id INTEGER NOT NULL REFERENCES chat_groups(id),"
    " connector TEXT NOT NULL,"
    " external_id TEXT NOT NULL,"
    " sender_id TEXT NOT NULL,"
    " sender_name TEXT NOT NULL,"
    " sent_at INTEGER NOT NULL,"
    " text TEXT NOT NULL,"
    " intent TEXT,"
    " category TEXT,"
    " triage TEXT,"
    " UNIQUE(connector, external_id)) STRICT;"
    "CREATE INDEX messages_group_time ON messages(group_id, sent_at);"
    "CREATE INDEX messages_time ON messages(sent_at);"
    "CREATE TABLE cases("
    " id INTEGER PRIMARY KEY,"
    " source TEXT NOT NULL CHECK(source IN('lead','walk_in','phone','patrol','hotline')),"
    " title TEXT NOT NULL,"
    " description TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " urgency TEXT NOT NULL CHECK(urgency IN('emergency','utility','general','complex')),"
    " priority INTEGER NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL CHECK(status IN('reported','accepted','in_progress','resolved',"
    "'verified','closed','suspended')),"
    " level TEXT NOT NULL CHECK(level IN('district','street','community','grid')),"
    " unit_id INTEGER NOT NULL REFERENCES units(id),"
    " department TEXT NOT NULL DEFAULT '',"
    " location TEXT NOT NULL DEFAULT '',"
    " photo_url TEXT NOT NULL DEFAULT '',"
    " reporter TEXT NOT NULL DEFAULT '',"
    " opened_at INTEGER NOT NULL,"
    " due_at INTEGER,"
    " closed_at INTEGER,"
    " overdue INTEGER NOT NULL DEFAULT 0 CHECK(overdue IN(0,1)),"
    " satisfaction INTEGER CHECK(satisfaction BETWEEN 1 AND 5)) STRICT;"
    "CREATE INDEX cases_due ON cases(due_at) WHERE due_at IS NOT NULL;"
    "CREATE INDEX cases_unit_status ON cases(unit_id, status);"
    "CREATE INDEX cases_status_opened ON cases(status, opened_at);"
    "CREATE TABLE case_events("
    " id INTEGER PRIMARY KEY,"
    " case_id INTEGER NOT NULL REFERENCES cases(id),"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " changes TEXT NOT NULL DEFAULT '{}',"
    " note TEXT NOT NULL DEFAULT '') STRICT;"
    "CREATE INDEX case_events_case ON case_events(case_id, id);"
    "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events"
    " BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;"
    "CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events"
    " BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;"
    "CREATE TABLE leads("
    " id INTEGER PRIMARY KEY,"
    " message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id),"
    " group_id INTEGER NOT NULL REFERENCES chat_groups(id),"
    " unit_id INTEGER NOT NULL REFERENCES units(id),"
    " intent TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " case_id INTEGER REFERENCES cases(id)) STRICT;"
    "CREATE INDEX leads_unit_time ON leads(unit_id, created_at);"
    "CREATE INDEX leads_case ON leads(case_id);",

    /* 3: notices with per-group deliveries, the outbox, claimable jobs */
    "CREATE TABLE outbox("
    " id INTEGER PRIMARY KEY,"
    " idem_key TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK(kind IN('reply','notify','notice')),"
    " channel TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK(status IN('pending','sending','sent','dead')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at INTEGER NOT NULL,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " sent_at INTEGER,"
    " claimed_by TEXT,"
    " lease_until INTEGER) STRICT;"
    "CREATE INDEX outbox_due ON outbox(status, next_at);"
    "CREATE TABLE notices("
    " id INTEGER PRIMARY KEY,"
    " sender_id INTEGER NOT NULL REFERENCES staff(id),"
    " scope_unit_id INTEGER NOT NULL REFERENCES units(id),"
    " kinds TEXT NOT NULL,"
    " text TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " send_at INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK(status IN('scheduled','sending','sent','cancelled'))) STRICT;"
    "CREATE INDEX notices_send ON notices(status, send_at);"
    "CREATE TABLE notice_deliveries("
    " notice_id INTEGER NOT NULL REFERENCES notices(id),"
    " group_id INTEGER NOT NULL REFERENCES chat_groups(id),"
    " outbox_id INTEGER REFERENCES outbox(id),"
    " status TEXT NOT NULL CHECK(status IN('pending','sent','failed','dead')),"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY(notice_id, group_id)) STRICT;"
    "CREATE TABLE jobs("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " dedupe_key TEXT UNIQUE,"
    " payload TEXT NOT NULL DEFAULT '{}',"
    " run_at INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK(status IN('ready','claimed','done')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " claimed_by TEXT,"
    " lease_until INTEGER,"
    " done_at INTEGER,"
    " last_error TEXT NOT NULL DEFAULT '') STRICT;"
    "CREATE INDEX jobs_due ON jobs(status, run_at);",

    /* 4: accounts (credentials of staff, login sessions) and connectors.
     * Credentials live beside staff, keyed by staff id, so staff rows, their
     * import/export and the digest stay free of secrets; a staff member
     * without a credentials row has no password and cannot log in. The
     * UNIQUE constraints index sessions by token hash and connectors by key. */
    "CREATE TABLE credentials("
    " staff_id INTEGER PRIMARY KEY REFERENCES staff(id),"
    " password_hash TEXT,"
    " disabled INTEGER NOT NULL DEFAULT 0 CHECK(disabled IN(0,1)),"
    " failures INTEGER NOT NULL DEFAULT 0 CHECK(failures>=0),"
    " locked_until INTEGER NOT NULL DEFAULT 0,"
    " password_changed_at INTEGER NOT NULL DEFAULT 0) STRICT;"
    "CREATE TABLE sessions("
    " id INTEGER PRIMARY KEY,"
    " token_hash TEXT NOT NULL UNIQUE CHECK(length(token_hash)=64),"
    " staff_id INTEGER NOT NULL REFERENCES staff(id),"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL CHECK(expires_at>created_at),"
    " last_seen INTEGER NOT NULL,"
    " revoked_at INTEGER) STRICT;"
    "CREATE INDEX sessions_staff ON sessions(staff_id);"
    "CREATE TABLE connectors("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK(kind IN('webhook','wecom')),"
    " key TEXT NOT NULL UNIQUE,"
    " secret TEXT NOT NULL,"
    " wecom_token TEXT NOT NULL DEFAULT '',"
    " wecom_aes_key TEXT NOT NULL DEFAULT '',"
    " wecom_receive_id TEXT NOT NULL DEFAULT '',"
    " disabled INTEGER NOT NULL DEFAULT 0 CHECK(disabled IN(0,1)),"
    " created_at INTEGER NOT NULL) STRICT;",

    /* 5: outbound delivery and what ingest writes. Staff get a notification
     * target (channel and URL, '' = not pushed); leads get a reporter count
     * and the key the group etiquette merges duplicates under, and every
     * message of a lead is listed in lead_reports; the outbox gets a
     * priority (0 urgent .. 3 low: lower is claimed first). */
    "ALTER TABLE staff ADD COLUMN notify_channel TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE staff ADD COLUMN notify_target TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE leads ADD COLUMN reporters INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE leads ADD COLUMN merge_key TEXT;"
    "CREATE INDEX leads_merge ON leads(merge_key);"
    "CREATE TABLE lead_reports("
    " message_id INTEGER PRIMARY KEY REFERENCES messages(id),"
    " lead_id INTEGER NOT NULL REFERENCES leads(id),"
    " sender_id TEXT NOT NULL,"
    " at INTEGER NOT NULL) STRICT;"
    "CREATE INDEX lead_reports_lead ON lead_reports(lead_id);"
    "ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 2;"
    "CREATE INDEX notice_deliveries_outbox ON notice_deliveries(outbox_id);"
    "CREATE INDEX outbox_created ON outbox(created_at);",

    /* 6: the case loop (issue 5): kind (rectification ledger), the unit where the
     * matter lies, the reporter's group, the SLA stage with its next check time
     * for the scheduler (remind, then breach), the clock left at suspension,
     * milestones and late marks for the KPIs, the resolver (verification must be
     * someone else), reopen count, merge target, the previous holder (return
     * sends a case back down), and a version for optimistic updates; reporters
     * (several when duplicates merge), found by group and sender for feedback. */
    "ALTER TABLE cases ADD COLUMN kind TEXT NOT NULL DEFAULT 'case' CHECK(kind IN('case','rectification'));"
    "ALTER TABLE cases ADD COLUMN origin_unit_id INTEGER REFERENCES units(id);"
    "ALTER TABLE cases ADD COLUMN group_id INTEGER REFERENCES chat_groups(id);"
    "ALTER TABLE cases ADD COLUMN stage TEXT NOT NULL DEFAULT '' CHECK(stage IN('','accept','resolve','verify'));"
    "ALTER TABLE cases ADD COLUMN next_check_at INTEGER;"
    "ALTER TABLE cases ADD COLUMN sla_left INTEGER;"
    "ALTER TABLE cases ADD COLUMN suspended_from TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cases ADD COLUMN accepted_at INTEGER;"
    "ALTER TABLE cases ADD COLUMN resolved_at INTEGER;"
    "ALTER TABLE cases ADD COLUMN verified_at INTEGER;"
    "ALTER TABLE cases ADD COLUMN accept_late INTEGER NOT NULL DEFAULT 0 CHECK(accept_late IN(0,1));"
    "ALTER TABLE cases ADD COLUMN resolve_late INTEGER NOT NULL DEFAULT 0 CHECK(resolve_late IN(0,1));"
    "ALTER TABLE cases ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cases ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE cases ADD COLUMN merged_into INTEGER REFERENCES cases(id);"
    "ALTER TABLE cases ADD COLUMN prev_unit_id INTEGER REFERENCES units(id);"
    "ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX cases_next ON cases(next_check_at) WHERE next_check_at IS NOT NULL;"
    "CREATE INDEX cases_origin ON cases(origin_unit_id, opened_at);"
    "CREATE TABLE case_reporters("
    " case_id INTEGER NOT NULL REFERENCES cases(id),"
    " group_id INTEGER NOT NULL REFERENCES chat_groups(id),"
    " sender_id TEXT NOT NULL,"
    " sender_name TEXT NOT NULL,"
    " message_id INTEGER REFERENCES messages(id),"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY(case_id, group_id, sender_id)) STRICT;"
    "CREATE INDEX case_reporters_sender ON case_reporters(group_id, sender_id);",
    /* 7: unit statistics for the staff API's /stats. stat_days holds, per unit
     * (every level) and day (Unix days of China time, (t+28800)/86400), the
     * counts the dashboard shows; stat_deltas receives one row per stored
     * message and lead, written by triggers in the same transaction as the
     * row (the group's unit only), and store_stats_compact() folds deltas into
     * stat_days for the unit and its ancestors. Existing messages and leads
     * are backfilled here as deltas. */
    "CREATE TABLE stat_days( unit_id INTEGER NOT NULL REFERENCES units(id), day INTEGER "
    "NOT NULL, messages INTEGER NOT NULL DEFAULT 0, leads INTEGER NOT NULL DEFAULT 0, "
    "replies INTEGER NOT NULL DEFAULT 0, answered INTEGER NOT NULL DEFAULT 0, i_consult "
    "INTEGER NOT NULL DEFAULT 0, i_help INTEGER NOT NULL DEFAULT 0, i_report INTEGER NOT "
    "NULL DEFAULT 0, i_emergency INTEGER NOT NULL DEFAULT 0, i_complaint INTEGER NOT NULL "
    "DEFAULT 0, i_other INTEGER NOT NULL DEFAULT 0, c_urban INTEGER NOT NULL DEFAULT 0, "
    "c_environment INTEGER NOT NULL DEFAULT 0, c_transport INTEGER NOT NULL DEFAULT 0, "
    "c_education INTEGER NOT NULL DEFAULT 0, c_labour INTEGER NOT NULL DEFAULT 0, "
    "c_commerce INTEGER NOT NULL DEFAULT 0, c_health INTEGER NOT NULL DEFAULT 0, c_none "
    "INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(unit_id, day)) STRICT, WITHOUT ROWID;CREATE "
    "TABLE stat_deltas( id INTEGER PRIMARY KEY, unit_id INTEGER NOT NULL, day INTEGER NOT "
    "NULL, messages INTEGER NOT NULL DEFAULT 0, leads INTEGER NOT NULL DEFAULT 0, replies "
    "INTEGER NOT NULL DEFAULT 0, answered INTEGER NOT NULL DEFAULT 0, i_consult INTEGER "
    "NOT NULL DEFAULT 0, i_help INTEGER NOT NULL DEFAULT 0, i_report INTEGER NOT NULL "
    "DEFAULT 0, i_emergency INTEGER NOT NULL DEFAULT 0, i_complaint INTEGER NOT NULL "
    "DEFAULT 0, i_other INTEGER NOT NULL DEFAULT 0, c_urban INTEGER NOT NULL DEFAULT 0, "
    "c_environment INTEGER NOT NULL DEFAULT 0, c_transport INTEGER NOT NULL DEFAULT 0, "
    "c_education INTEGER NOT NULL DEFAULT 0, c_labour INTEGER NOT NULL DEFAULT 0, "
    "c_commerce INTEGER NOT NULL DEFAULT 0, c_health INTEGER NOT NULL DEFAULT 0, c_none "
    "INTEGER NOT NULL DEFAULT 0) STRICT;CREATE TRIGGER messages_stat AFTER INSERT ON "
    "messages BEGIN INSERT INTO stat_deltas(unit_id,day,messages,replies,answered,"
    "i_consult,i_help,i_report,i_emergency,i_complaint,i_other,c_urban,c_environment,"
    "c_transport,c_education,c_labour,c_commerce,c_health,c_none) SELECT g.unit_id,"
    "(NEW.sent_at+28800)/86400,1,CASE WHEN COALESCE(NEW.triage,'') LIKE '%\"reply\":\"%' "
    "THEN 1 ELSE 0 END,CASE WHEN NEW.intent='consult' AND COALESCE(NEW.triage,'') LIKE "
    "'%\"reply\":\"%' THEN 1 ELSE 0 END,CASE WHEN NEW.intent='consult' THEN 1 ELSE 0 END,"
    "CASE WHEN NEW.intent='help' THEN 1 ELSE 0 END,CASE WHEN NEW.intent='report' THEN 1 "
    "ELSE 0 END,CASE WHEN NEW.intent='emergency' THEN 1 ELSE 0 END,CASE WHEN "
    "NEW.intent='complaint' THEN 1 ELSE 0 END,CASE WHEN NEW.intent='other' THEN 1 ELSE 0 "
    "END,CASE WHEN NEW.category='城乡建设' THEN 1 ELSE 0 END,CASE WHEN NEW.category='环境保护' "
    "THEN 1 ELSE 0 END,CASE WHEN NEW.category='交通运输' THEN 1 ELSE 0 END,CASE WHEN "
    "NEW.category='教育文体' THEN 1 ELSE 0 END,CASE WHEN NEW.category='劳动和社会保障' THEN 1 ELSE 0 "
    "END,CASE WHEN NEW.category='商贸旅游' THEN 1 ELSE 0 END,CASE WHEN NEW.category='卫生计生' "
    "THEN 1 ELSE 0 END,CASE WHEN NEW.category='无' THEN 1 ELSE 0 END FROM chat_groups g "
    "WHERE g.id=NEW.group_id; END;CREATE TRIGGER leads_stat AFTER INSERT ON leads BEGIN "
    "INSERT INTO stat_deltas(unit_id,day,leads) VALUES(NEW.unit_id,"
    "(NEW.created_at+28800)/86400,1); END;INSERT INTO stat_deltas(unit_id,day,messages,"
    "replies,answered,i_consult,i_help,i_report,i_emergency,i_complaint,i_other,c_urban,"
    "c_environment,c_transport,c_education,c_labour,c_commerce,c_health,c_none) SELECT "
    "g.unit_id,(m.sent_at+28800)/86400,count(*),sum(CASE WHEN COALESCE(m.triage,'') LIKE "
    "'%\"reply\":\"%' THEN 1 ELSE 0 END),sum(CASE WHEN m.intent='consult' AND "
    "COALESCE(m.triage,'') LIKE '%\"reply\":\"%' THEN 1 ELSE 0 END),sum(CASE WHEN "
    "m.intent='consult' THEN 1 ELSE 0 END),sum(CASE WHEN m.intent='help' THEN 1 ELSE 0 "
    "END),sum(CASE WHEN m.intent='report' THEN 1 ELSE 0 END),sum(CASE WHEN "
    "m.intent='emergency' THEN 1 ELSE 0 END),sum(CASE WHEN m.intent='complaint' THEN 1 "
    "ELSE 0 END),sum(CASE WHEN m.intent='other' THEN 1 ELSE 0 END),sum(CASE WHEN "
    "m.category='城乡建设' THEN 1 ELSE 0 END),sum(CASE WHEN m.category='环境保护' THEN 1 ELSE 0 "
    "END),sum(CASE WHEN m.category='交通运输' THEN 1 ELSE 0 END),sum(CASE WHEN "
    "m.category='教育文体' THEN 1 ELSE 0 END),sum(CASE WHEN m.category='劳动和社会保障' THEN 1 ELSE 0 "
    "END),sum(CASE WHEN m.category='商贸旅游' THEN 1 ELSE 0 END),sum(CASE WHEN "
    "m.category='卫生计生' THEN 1 ELSE 0 END),sum(CASE WHEN m.category='无' THEN 1 ELSE 0 END) "
    "FROM messages m JOIN chat_groups g ON g.id=m.group_id GROUP BY g.unit_id,"
    "(m.sent_at+28800)/86400;INSERT INTO stat_deltas(unit_id,day,leads) SELECT unit_id,"
    "(created_at+28800)/86400,count(*) FROM leads GROUP BY unit_id,"
    "(created_at+28800)/86400;",
    /* 8: the outbox's per-target sliding minute, shared by every process and
     * node on the database and kept across restarts. outbox_window has one
     * row per target (a hash of its URL), written first by each take so that
     * takes for one target are serialised; outbox_sends holds the send times
     * of the last minute. */
    "CREATE TABLE outbox_window(target TEXT PRIMARY KEY, touched INTEGER NOT NULL) STRICT, "
    "WITHOUT ROWID;CREATE TABLE outbox_sends(target TEXT NOT NULL, at INTEGER NOT NULL) "
    "STRICT;CREATE INDEX outbox_sends_target ON outbox_sends(target, at);",
    /* 9: messages are no longer counted by a row trigger: the driver's
     * message batch tallies them per unit and day in memory and writes one
     * stat_deltas row per unit and day in the batch's own transaction
     * (store_sqlite_tally.c), with the same columns and rules. Leads keep
     * their trigger (one lead for every 25 messages or so). */
    "DROP TRIGGER messages_stat;",
    /* 10: Open311 GeoReport v2 (server_open311.c). A client (a civic tool)
     * holds an api_key of which only the SHA-256 is kept; it is bound to a
     * unit: the requests it opens land in that unit's subtree. open311_requests
     * says which client opened a case and keeps the location as the client
     * sent it (latitude and longitude as decimal text, address_id); cases get
     * an index on their opening time for the requests list. */
    "CREATE TABLE open311_clients("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " key_hash TEXT NOT NULL UNIQUE CHECK(length(key_hash)=64),"
    " unit_id INTEGER NOT NULL REFERENCES units(id),"
    " disabled INTEGER NOT NULL DEFAULT 0 CHECK(disabled IN(0,1)),"
    " created_at INTEGER NOT NULL) STRICT;"
    "CREATE TABLE open311_requests("
    " case_id INTEGER PRIMARY KEY REFERENCES cases(id),"
    " client_id INTEGER NOT NULL REFERENCES open311_clients(id),"
    " lat TEXT,"
    " lon TEXT,"
    " address_id TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL) STRICT;"
    "CREATE INDEX cases_opened ON cases(opened_at);",
    /* 11: the outbox in claim order. A claim takes pending rows by priority,
     * then due time, then id (store_outbox_claim, one priority at a time),
     * so the index serves each as a range read in order that stops at the
     * rows it takes, where outbox_due made every claim sort every due row.
     * It also serves what outbox_due served (rows by status). */
    "DROP INDEX outbox_due;"
    "CREATE INDEX outbox_claim ON outbox(status, priority, next_at, id);",
    /* 12: cheaper writes of what ingest causes. A CHECK(x IN('a','b','c'))
     * of three or more values makes SQLite build an ephemeral table of the
     * list on every statement that writes the row (sqlite3FindInIndex: a
     * b-tree opened, filled and closed), which was two thirds of the cost of
     * inserting a case (about 170 k of 240 k instructions) and a large part
     * of every outbox statement. The same constraints written as x='a' OR
     * x='b' ... accept and refuse exactly the same values and cost a few
     * comparisons; they are put into the stored table definitions in place
     * (writable_schema: only the CHECK text changes, not the stored rows,
     * which is what SQLite documents for such edits); writable_schema=RESET
     * makes this connection reload the schema, and the DROP INDEX
     * statements below change the schema cookie so that every other
     * connection reloads it too. Two indexes of cases no query uses are
     * dropped (due_at: nothing selects or orders by it, the scheduler reads
     * next_check_at; origin_unit_id: reached only from cases to units by
     * the units' primary key), leaving four to update per case. */
    "PRAGMA writable_schema=ON;"
    "UPDATE sqlite_schema SET sql=replace(replace(replace(replace(replace(sql"
    ", 'source IN(''lead'',''walk_in'',''phone'',''patrol'',''hotline'')'"
    ", 'source=''lead'' OR source=''walk_in'' OR source=''phone'' OR source=''patrol'' OR source=''hotline''')"
    ", 'urgency IN(''emergency'',''utility'',''general'',''complex'')'"
    ", 'urgency=''emergency'' OR urgency=''utility'' OR urgency=''general'' OR urgency=''complex''')"
    ", 'status IN(''reported'',''accepted'',''in_progress'',''resolved'',''verified'',''closed'',''suspended'')'"
    ", 'status=''reported'' OR status=''accepted'' OR status=''in_progress'' OR status=''resolved'' OR status=''verified'' OR status=''closed'' OR status=''suspended''')"
    ", 'level IN(''district'',''street'',''community'',''grid'')'"
    ", 'level=''district'' OR level=''street'' OR level=''community'' OR level=''grid''')"
    ", 'stage IN('''',''accept'',''resolve'',''verify'')'"
    ", 'stage='''' OR stage=''accept'' OR stage=''resolve'' OR stage=''verify''')"
    " WHERE type='table' AND name='cases';"
    "UPDATE sqlite_schema SET sql=replace(replace(sql"
    ", 'kind IN(''reply'',''notify'',''notice'')'"
    ", 'kind=''reply'' OR kind=''notify'' OR kind=''notice''')"
    ", 'status IN(''pending'',''sending'',''sent'',''dead'')'"
    ", 'status=''pending'' OR status=''sending'' OR status=''sent'' OR status=''dead''')"
    " WHERE type='table' AND name='outbox';"
    "PRAGMA writable_schema=RESET;"
    "DROP INDEX cases_due;"
    "DROP INDEX cases_origin;",
    /* 13: a cheaper message row. Every message updated three indexes besides
     * its table; SQLite's planner reads messages by id (cases, exports), by
     * (connector, external_id) (ingest's idempotency) and by sent_at (the
     * message search, whose group filter is "g.external_id=? OR ?=''" and
     * cannot be served by an index on group_id: EXPLAIN QUERY PLAN picks
     * messages_time for a grid, a group and the whole district alike), and
     * never by messages_group_time. Dropping it makes a stored message about
     * 4.7 k instructions cheaper (of 32 k: docs/BENCHMARKS.md, session 6).
     * PostgreSQL's planner does use it for narrow scopes, so it stays there. */
    "DROP INDEX messages_group_time;",
    /* 14: a cheaper outbox row. outbox_created (created_at) was added with
     * the outbox's first retention, which deleted by age; retention now
     * deletes sent rows by priority and due time (store_outbox_purge, on
     * outbox_claim), and EXPLAIN QUERY PLAN of every statement that reads
     * the outbox - by idem_key (its unique index), by id (claims' update,
     * outcomes, retry, notice deliveries), the claim and the purge
     * (outbox_claim), the list and the depth (outbox_claim or the table) -
     * reads it nowhere, while every queued row paid its insert (1.7 k of
     * 21.5 k instructions a row: docs/BENCHMARKS.md, session 7). */
    "DROP INDEX outbox_created;",
    /* 15: leads are no longer counted by a row trigger: each insert of
     * leads counts them per unit and China-time day in memory and writes one
     * stat_deltas row per unit and day in the same transaction
     * (store_leads_count: the driver's batch, store_effects.c's ingest
     * statements), with the trigger's rule; the trigger cost a lead 8.1 k of
     * 27 k instructions (docs/BENCHMARKS.md, session 7). */
    "DROP TRIGGER leads_stat;",
    /* 16: the messages' foreign key to their group is checked at commit
     * (DEFERRABLE INITIALLY DEFERRED) instead of at the end of each
     * statement. A multi-row INSERT whose foreign key is checked at once may
     * abort after some of its rows, so SQLite first copies every page the
     * statement touches into a statement journal to undo them; with the
     * check at commit (and INSERT OR FAIL for its NOT NULL columns) ingest's
     * sixteen-row statement needs none, 2.3 k of a message row's 20 k
     * instructions (docs/BENCHMARKS.md, session 9). Every writer is still
     * refused a message of a group that does not exist: the commit fails and
     * the transaction rolls back. Only the constraint's text changes, edited
     * in place as in migration 12; creating and dropping a table changes the
     * schema cookie so that every other connection reloads the schema. */
    "PRAGMA writable_schema=ON;"
    "UPDATE sqlite_schema SET sql=replace(sql"
    ", 'group_id INTEGER NOT NULL REFERENCES chat_groups(id),'"
    ", 'group_id INTEGER NOT NULL REFERENCES chat_groups(id) DEFERRABLE INITIALLY DEFERRED,')"
    " WHERE type='table' AND name='messages';"
    "PRAGMA writable_schema=RESET;"
    "CREATE TABLE ny_schema_16(x INTEGER);"
    "DROP TABLE ny_schema_16;",
};

const int store_sqlite_migration_count =
    (int)(sizeof store_sqlite_migrations / sizeof store_sqlite_migrations[0]);
