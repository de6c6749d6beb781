-- The PostgreSQL contender's load (issue #8), run by scripts/bench.sh through psql with
-- -v data=FILE. Durability as shipped (fsync on, logged tables). Timed as a whole:
-- COPY into a staging table, set-based inserts into an entity table and a relation table,
-- then the indexes the benchmark's queries need, then ANALYZE.
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS raw, relation, entity, predicate, busy;
CREATE TABLE raw (s text, p text, o text, d date);
COPY raw FROM :'data' (FORMAT csv, DELIMITER E'\t', QUOTE E'\b');
CREATE TABLE entity (id int, name text);
INSERT INTO entity SELECT row_number() OVER (ORDER BY name), name FROM (SELECT s AS name FROM raw UNION SELECT o FROM raw) n;
CREATE TABLE predicate (id int, name text);
INSERT INTO predicate SELECT row_number() OVER (ORDER BY p), p FROM (SELECT DISTINCT p FROM raw) x;
CREATE TABLE relation (id bigint, subject int, predicate text, object int, day date);
INSERT INTO relation SELECT row_number() OVER (), es.id, r.p, eo.id, r.d
  FROM raw r JOIN entity es ON es.name = r.s JOIN entity eo ON eo.name = r.o;
DROP TABLE raw;
ALTER TABLE entity ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX entity_name ON entity (name);
ALTER TABLE predicate ADD PRIMARY KEY (id);
ALTER TABLE relation ADD PRIMARY KEY (id);
CREATE INDEX relation_out ON relation (subject, day);
CREATE INDEX relation_in ON relation (object, day);
CREATE INDEX relation_by_predicate ON relation (predicate, day, id);
ANALYZE;
