-- Neighbours of a random entity in a two-year window, both directions, at most 100, with
-- the neighbour's name: what QueryService.Neighbors answers.
\set e random(1, :nent)
\set y random(:ylo, :yhi)
\set y2 :y + 1
SELECT r.id, r.subject, r.predicate, r.object, r.day, n.name
FROM ((SELECT id, subject, predicate, object, day, object AS other FROM relation
       WHERE subject = :e AND day BETWEEN make_date(:y, 1, 1) AND make_date(:y2, 12, 31) LIMIT 100)
      UNION ALL
      (SELECT id, subject, predicate, object, day, subject AS other FROM relation
       WHERE object = :e AND day BETWEEN make_date(:y, 1, 1) AND make_date(:y2, 12, 31) LIMIT 100)
      LIMIT 100) r
JOIN entity n ON n.id = r.other;
