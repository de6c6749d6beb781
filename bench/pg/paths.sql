-- Shortest path length (at most 3 hops, both directions, all time) between two random
-- entities. A level-by-level recursive CTE explodes on this graph (hub degrees in the
-- thousands), so this is the meet-in-the-middle form a SQL user would write: the 1-hop
-- sets of both ends (CTEs), then 1, 2 or 3 hops by set intersection. It returns the hop
-- count only, not the path (Annals returns the path with its relations).
\set a random(1, :nent)
\set b random(1, :nent)
WITH s1 AS (SELECT object AS n FROM relation WHERE subject = :a UNION SELECT subject FROM relation WHERE object = :a),
     t1 AS (SELECT object AS n FROM relation WHERE subject = :b UNION SELECT subject FROM relation WHERE object = :b)
SELECT CASE
  WHEN :a = :b THEN 0
  WHEN EXISTS (SELECT 1 FROM s1 WHERE n = :b) THEN 1
  WHEN EXISTS (SELECT 1 FROM s1 JOIN t1 USING (n)) THEN 2
  WHEN EXISTS (SELECT 1 FROM s1 JOIN relation r ON r.subject = s1.n JOIN t1 ON t1.n = r.object) THEN 3
  WHEN EXISTS (SELECT 1 FROM s1 JOIN relation r ON r.object = s1.n JOIN t1 ON t1.n = r.subject) THEN 3
  END AS hops;
