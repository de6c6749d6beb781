-- Not part of the timed load: the 100 busiest entities, for the traversal benchmark.
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS busy;
CREATE TABLE busy AS
  SELECT row_number() OVER (ORDER BY count(*) DESC, id) AS rank, id
  FROM (SELECT subject AS id FROM relation UNION ALL SELECT object FROM relation) x
  GROUP BY id ORDER BY count(*) DESC, id LIMIT 100;
ALTER TABLE busy ADD PRIMARY KEY (rank);
ANALYZE busy;
