-- Luoshi's PostgreSQL store, version 1: the document tables of bot/adapters/docstore.py in one
-- schema per county (the tenant). Applied by `python -m bot migrate` in one transaction, with
-- {schema} replaced by the tenant's (validated) schema name.

-- One row: the county's commit counter. Every commit takes this row's lock (UPDATE … RETURNING),
-- so a county's commits are totally ordered by `seq` across all workers.
CREATE TABLE {schema}.meta (
    id            integer PRIMARY KEY CHECK (id = 1),
    seq           bigint NOT NULL DEFAULT 0,
    pruned_below  bigint NOT NULL DEFAULT 0   -- tombstones older than this are gone
);
INSERT INTO {schema}.meta (id) VALUES (1);

-- Every document: tasks, people, units, invites, counters, outbox, reports, difficulties,
-- extensions, bulletins, rebinds, the inbox (applied update ids: the primary key makes each
-- one unique), dialogues. `seq` is the commit that wrote it last.
CREATE TABLE {schema}.docs (
    tbl  text   NOT NULL,
    key  text   NOT NULL,
    doc  jsonb  NOT NULL,
    seq  bigint NOT NULL,
    PRIMARY KEY (tbl, key)
);
CREATE INDEX docs_seq ON {schema}.docs (seq);

-- Deleted documents, so that other workers drop them from their caches (pruned after a while;
-- a worker further behind than `meta.pruned_below` reloads everything).
CREATE TABLE {schema}.removed (
    tbl  text   NOT NULL,
    key  text   NOT NULL,
    seq  bigint NOT NULL,
    PRIMARY KEY (tbl, key, seq)
);
CREATE INDEX removed_seq ON {schema}.removed (seq);

-- A task's history (append-only), in commit order.
CREATE TABLE {schema}.history (
    seq  bigint  NOT NULL,
    i    integer NOT NULL,
    key  text    NOT NULL,
    rec  jsonb   NOT NULL,
    PRIMARY KEY (seq, i)
);
CREATE INDEX history_key ON {schema}.history (key, seq, i);
