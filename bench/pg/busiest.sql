-- The busiest entity's neighbours (issue #19): both directions, March to October 2014, at
-- most 100, with the neighbour's name: what annals_bench's `busiest` workload asks Annals.
-- Two LIMIT-100 range scans on (subject, day) and (object, day), then a join to the names.
-- :busiest is the entity's id, found by scripts/bench.sh.
SELECT r.id, r.subject, r.predicate, r.object, r.day, n.name
FROM ((SELECT id, subject, predicate, object, day, object AS other FROM relation
       WHERE subject = :busiest AND day BETWEEN DATE '2014-03-01' AND DATE '2014-10-31' LIMIT 100)
      UNION ALL
      (SELECT id, subject, predicate, object, day, subject AS other FROM relation
       WHERE object = :busiest AND day BETWEEN DATE '2014-03-01' AND DATE '2014-10-31' LIMIT 100)
      LIMIT 100) r
JOIN entity n ON n.id = r.other;
