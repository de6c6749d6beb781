// Counts the relations whose subject is one entity, per predicate, and prints
// `predicate<TAB>count` sorted by predicate (ASSERTED relations, the latest revision).
//
//   node clients/node/dist/examples/count-predicates.js [--addr HOST:PORT] ENTITY
import { AnnalsError, connect } from '../src';

async function main(argv: string[]): Promise<number> {
  let addr = process.env.ANNALS_ADDR ?? '127.0.0.1:50051';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--addr') addr = argv[++i];
    else rest.push(argv[i]);
  }
  if (rest.length !== 1) {
    process.stderr.write('usage: count-predicates [--addr HOST:PORT] ENTITY\n');
    return 2;
  }
  const client = connect(addr);
  try {
    const counts = new Map<string, number>();
    for await (const relation of client.listRelations({ subject: rest[0] })) {
      counts.set(relation.predicate, (counts.get(relation.predicate) ?? 0) + 1);
    }
    const lines = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [predicate, count] of lines) process.stdout.write(`${predicate}\t${count}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`count-predicates: ${err instanceof AnnalsError ? err.message : String(err)}\n`);
    return 1;
  } finally {
    client.close();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
