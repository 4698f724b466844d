/**
 * Durations and instants as written in workflow files: `500ms`, `45m`, `1h30m`, `2d`, ISO-8601
 * durations such as `PT45M`, and ISO-8601 instants such as `2026-12-01T06:00:00Z`.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Compact form: one or more `<number><unit>` groups, largest unit first by convention. */
export const COMPACT_DURATION_PATTERN = '^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$';
/** ISO-8601 duration without years or months (their length varies). */
export const ISO_DURATION_PATTERN =
  '^P(?!$)(\\d+(\\.\\d+)?W)?(\\d+(\\.\\d+)?D)?(T(?=\\d)(\\d+(\\.\\d+)?H)?(\\d+(\\.\\d+)?M)?(\\d+(\\.\\d+)?S)?)?$';
/** Either form. */
export const DURATION_PATTERN = `(${COMPACT_DURATION_PATTERN})|(${ISO_DURATION_PATTERN})`;
/** ISO-8601 instant with a time and an explicit offset (`Z` or `+02:00`). */
export const INSTANT_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$';

const COMPACT_RE = new RegExp(COMPACT_DURATION_PATTERN);
const COMPACT_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const ISO_RE = new RegExp(ISO_DURATION_PATTERN);
const ISO_PART_RE = /(\d+(?:\.\d+)?)([WDHMS])/g;
const INSTANT_RE = new RegExp(INSTANT_PATTERN);

/** Parses a duration into milliseconds, or returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (COMPACT_RE.test(s)) {
    let total = 0;
    for (const m of s.matchAll(COMPACT_PART_RE)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
    return Math.round(total);
  }
  if (ISO_RE.test(s)) {
    const [datePart, timePart = ''] = s.slice(1).split('T') as [string, string?];
    let total = 0;
    for (const m of datePart.matchAll(ISO_PART_RE))
      total += Number(m[1]) * (m[2] === 'W' ? 7 : 1) * UNIT_MS.d!;
    for (const m of timePart.matchAll(ISO_PART_RE)) {
      total += Number(m[1]) * (m[2] === 'H' ? UNIT_MS.h! : m[2] === 'M' ? UNIT_MS.m! : UNIT_MS.s!);
    }
    return Math.round(total);
  }
  return undefined;
}

/** Parses an ISO-8601 instant into epoch milliseconds, or undefined when it is not one. */
export function parseInstant(text: string): number | undefined {
  const t = text.trim();
  if (!INSTANT_RE.test(t)) return undefined;
  // Date.parse rolls 2026-02-30 over to March: check the calendar fields first.
  const [y, mo, d, h, mi, s] = [0, 5, 8, 11, 14, 17].map((i) => Number(t.slice(i, i + (i === 0 ? 4 : 2))));
  const daysInMonth = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  if (
    mo! < 1 ||
    mo! > 12 ||
    d! < 1 ||
    d! > daysInMonth ||
    h! > 23 ||
    mi! > 59 ||
    (t[16] === ':' && s! > 59)
  ) {
    return undefined;
  }
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Formats milliseconds compactly for tables: `850ms`, `12.5s`, `3m20s`, `2h05m`, `1d03h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return ms > 0 ? '∞' : '-∞';
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  // Round to the precision shown first, then split, so 59,999 ms prints "1m", not "59m60s".
  if (Math.round(a) < 1000) return `${sign}${Math.round(a)}ms`;
  if (Math.round(a / 100) < 600) return `${sign}${Math.round(a / 100) / 10}s`;
  const pair = (total: number, unit: number, big: string, small: string) => {
    const hi = Math.floor(total / unit);
    const lo = total % unit;
    return `${sign}${hi}${big}${lo ? String(lo).padStart(2, '0') + small : ''}`;
  };
  const seconds = Math.round(a / 1000);
  if (seconds < 3600) return pair(seconds, 60, 'm', 's');
  const minutes = Math.round(a / 60_000);
  if (minutes < 1440) return pair(minutes, 60, 'h', 'm');
  return pair(Math.round(a / 3_600_000), 24, 'd', 'h');
}
