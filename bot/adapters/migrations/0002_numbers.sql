-- Version 2: numbers handed out by the database (reports R…, 困难 D…, 延期 E…), so that two
-- workers taking the next number at once never meet on one counter document. Each is one
-- short statement of its own (PgDocStore.take_number); a number taken by a change that was
-- then refused is not reused (a gap, never a duplicate).
CREATE TABLE {schema}.numbers (
    name   text   PRIMARY KEY,
    value  bigint NOT NULL
);
