-- ListRelations by a random predicate in a two-year window, first page of 100, in order
-- of date: what QueryService.ListRelations answers.
\set p random(1, :npred)
\set y random(:ylo, :yhi)
\set y2 :y + 1
SELECT id, subject, predicate, object, day FROM relation
WHERE predicate = (SELECT name FROM predicate WHERE id = :p)
  AND day BETWEEN make_date(:y, 1, 1) AND make_date(:y2, 12, 31)
ORDER BY day, id LIMIT 100;
