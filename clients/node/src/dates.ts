// Helpers between the CLI's YYYY[-MM[-DD]] notation and the API's Date, TimeRange and Window.
import type { Date as ProtoDate } from './gen/annals/v1/Date';
import type { TimeRange__Output } from './gen/annals/v1/TimeRange';
import type { Window } from './gen/annals/v1/Window';

export type DateLike = string | number | ProtoDate;

/** A Date at the precision written: '2011', '2012-10', '2012-10-03', or a year number. */
export function date(value: DateLike): ProtoDate {
  if (typeof value === 'number') return { year: value };
  if (typeof value === 'object') return value;
  const m = /^(-?\d{1,6})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$/.exec(value.trim());
  if (!m) throw new RangeError(`not a date (YYYY, YYYY-MM or YYYY-MM-DD): '${value}'`);
  return { year: Number(m[1]), month: Number(m[2] ?? 0), day: Number(m[3] ?? 0) };
}

/** A read Window [start, end]; window('2011', '2011') is all of 2011. */
export function window(start?: DateLike, end?: DateLike, options: { certainly?: boolean } = {}): Window {
  return {
    start: start === undefined ? null : date(start),
    end: end === undefined ? null : date(end),
    mode: options.certainly ? 'CERTAINLY' : 'POSSIBLY',
  };
}

/** { year: 2012, month: 10 } -> '2012-10'. */
export function formatDate(d: ProtoDate): string {
  const year = Number(d.year ?? 0);
  let text = year >= 0 ? String(year).padStart(4, '0') : `-${String(-year).padStart(4, '0')}`;
  if (d.month) {
    text += `-${String(d.month).padStart(2, '0')}`;
    if (d.day) text += `-${String(d.day).padStart(2, '0')}`;
  }
  return text;
}

function endpoint(r: TimeRange__Output, side: 'start' | 'end'): string {
  if (r[`${side}Unknown`]) return '?';
  const at = r[side];
  const latest = r[`${side}Latest`];
  return (at ? formatDate(at) : '') + (latest ? `~${formatDate(latest)}` : '');
}

/** A TimeRange as the CLI prints it: '2011-05-11..2011-05-13', '2011..', '2012-10'. */
export function formatRange(r: TimeRange__Output | null): string {
  if (!r) return 'always';
  const start = endpoint(r, 'start');
  const end = endpoint(r, 'end');
  if (start && start === end) return start;
  if (!start && !end) return 'always';
  return `${start}..${end}`;
}
