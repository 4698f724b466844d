import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COMPACT_DURATION_PATTERN,
  DURATION_PATTERN,
  formatDuration,
  INSTANT_PATTERN,
  ISO_DURATION_PATTERN,
  parseDuration,
  parseInstant,
} from '../../../dsl/duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration: compact form', () => {
  it.each([
    ['500ms', 500],
    ['0s', 0],
    ['30s', 30 * S],
    ['45m', 45 * M],
    ['2h', 2 * H],
    ['2d', 2 * D],
    ['1h30m', H + 30 * M],
    ['1d2h3m4s5ms', D + 2 * H + 3 * M + 4 * S + 5],
    ['1.5h', 90 * M],
    ['0.25s', 250],
    ['90m', 90 * M],
    ['10ms', 10],
    ['1m1ms', M + 1],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('ignores surrounding whitespace', () => {
    expect(parseDuration('  5m \n')).toBe(5 * M);
  });

  it('rounds sub-millisecond results to whole milliseconds', () => {
    expect(parseDuration('0.0004s')).toBe(0);
    expect(parseDuration('0.0006s')).toBe(1);
  });

  it('adds up any sequence of unit groups', () => {
    const unit = fc.constantFrom(['ms', 1], ['s', S], ['m', M], ['h', H], ['d', D]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(10_000), unit), { minLength: 1, maxLength: 6 }), (groups) => {
        const text = groups.map(([n, [u]]) => `${n}${u}`).join('');
        const expected = groups.reduce((sum, [n, [, ms]]) => sum + n * ms, 0);
        expect(parseDuration(text)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseDuration: ISO-8601 form', () => {
  it.each([
    ['PT45M', 45 * M],
    ['PT0S', 0],
    ['PT1H30M', H + 30 * M],
    ['PT1.5S', 1500],
    ['P1D', D],
    ['P1W', 7 * D],
    ['P1DT2H', D + 2 * H],
    ['P2W3DT4H5M6S', 17 * D + 4 * H + 5 * M + 6 * S],
    ['PT36H', 36 * H],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('keeps minutes (T…M) apart from the date part', () => {
    // `M` means minutes only after `T`; months are not accepted at all.
    expect(parseDuration('PT1M')).toBe(M);
    expect(parseDuration('P1M')).toBeUndefined();
  });
});

describe('parseDuration: invalid input', () => {
  it.each([
    '',
    ' ',
    '5',
    'm',
    '5 m',
    '1h 30m',
    '5mins',
    '5M',
    '-5m',
    '+5m',
    '1y',
    '1w',
    '.5s',
    '5.s',
    'P',
    'PT',
    'P1DT',
    'P1Y',
    'P1M',
    'pt45m',
    'T45M',
    'PT 45M',
    'PT-1S',
    '45m!',
    'Infinity',
    'NaN',
    '1e3ms',
  ])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('agrees with the schema patterns: whatever the patterns accept, parseDuration parses', () => {
    const re = new RegExp(DURATION_PATTERN);
    const compact = new RegExp(COMPACT_DURATION_PATTERN);
    const iso = new RegExp(ISO_DURATION_PATTERN);
    const alphabet = fc.constantFrom(...'0123456789.msmhdPTWDHMS'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 12 }), (text) => {
        const parsed = parseDuration(text);
        expect(re.test(text)).toBe(compact.test(text) || iso.test(text));
        if (re.test(text)) {
          expect(parsed).toBeTypeOf('number');
          expect(Number.isFinite(parsed)).toBe(true);
          expect(parsed).toBeGreaterThanOrEqual(0);
        } else {
          expect(parsed).toBeUndefined();
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseInstant', () => {
  it.each([
    ['2026-12-01T06:00:00Z', Date.UTC(2026, 11, 1, 6)],
    ['2026-12-01T06:00Z', Date.UTC(2026, 11, 1, 6)],
    ['2026-12-01T06:00:00.250Z', Date.UTC(2026, 11, 1, 6, 0, 0, 250)],
    ['2026-12-01T08:00:00+02:00', Date.UTC(2026, 11, 1, 6)],
    ['2026-12-01T01:30:00-04:30', Date.UTC(2026, 11, 1, 6)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('%s', (text, epochMs) => {
    expect(parseInstant(text)).toBe(epochMs);
  });

  it.each([
    '2026-12-01',
    '2026-12-01T06:00:00',
    '2026-12-01 06:00:00Z',
    '2026-12-01T6:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-12-01T25:00:00Z',
    '2026-12-01T06:00:00+0200',
    '2026-12-01T06:00:00z',
    'tomorrow',
    '45m',
    '',
  ])('%j is not an instant', (text) => {
    expect(parseInstant(text)).toBeUndefined();
  });

  it('requires an explicit offset (the pattern enforces it)', () => {
    expect(new RegExp(INSTANT_PATTERN).test('2026-12-01T06:00:00')).toBe(false);
    expect(new RegExp(INSTANT_PATTERN).test('2026-12-01T06:00:00Z')).toBe(true);
  });

  // V8's Date.parse alone rolls 2026-02-30 over to 2026-03-02 instead of rejecting it.
  it('rejects calendar dates that do not exist', () => {
    expect(parseInstant('2026-02-30T00:00:00Z')).toBeUndefined();
    expect(parseInstant('2026-04-31T00:00:00Z')).toBeUndefined();
    expect(parseInstant('2025-02-29T00:00:00Z')).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [999, '999ms'],
    [1000, '1s'],
    [12_500, '12.5s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [200_000, '3m20s'],
    [5 * M + 5 * S, '5m05s'],
    [H, '1h'],
    [2 * H + 5 * M, '2h05m'],
    [D, '1d'],
    [D + 3 * H, '1d03h'],
    [-1500, '-1.5s'],
    [-(2 * H + 5 * M), '-2h05m'],
    [Infinity, '∞'],
    [-Infinity, '-∞'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration for whole seconds, minutes and hours', () => {
    for (const ms of [S, 59 * S, M, 3 * M + 20 * S, H, 2 * H + 5 * M, D, D + 3 * H]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });

  // Rounding the lower unit must carry into the next one, never print "59m60s" or "23h60m".
  it('never prints 60 seconds, 60 minutes or 24 hours as the lower unit', () => {
    expect(formatDuration(59_999)).toBe('1m');
    expect(formatDuration(H - 1)).toBe('1h');
    expect(formatDuration(D - 1)).toBe('1d');
  });
});
