-- Depth-2 traversal, both directions, all time, from one of the 100 busiest entities, as a
-- recursive CTE with the same fan-out cap as Annals (1,000 relations followed per entity),
-- returning the reached entities (id, name, depth; at most 10,000 rows).
\set i random(1, 100)
WITH RECURSIVE walk(node, depth) AS (
  SELECT id, 0 FROM busy WHERE rank = :i
  UNION
  SELECT nb.other, w.depth + 1
  FROM walk w CROSS JOIN LATERAL (
    (SELECT object AS other FROM relation WHERE subject = w.node LIMIT 1000)
    UNION ALL
    (SELECT subject FROM relation WHERE object = w.node LIMIT 1000)
    LIMIT 1000) nb
  WHERE w.depth < 2)
SELECT e.id, e.name, min(w.depth) FROM walk w JOIN entity e ON e.id = w.node
GROUP BY e.id, e.name LIMIT 10000;
