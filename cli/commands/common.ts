import { InvalidArgumentError } from 'commander';
import { DEFAULT_STATE_PATH } from '../../runtime/embedded.js';

/** Commander parser for a positive integer option. */
export function intOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

/** The `--state <path>` option shared by commands that read or write checkpoints. */
export const stateOption = [
  '--state <path>',
  'SQLite checkpoint file (":memory:" keeps nothing); env SMARTQUEUE_STATE',
  process.env.SMARTQUEUE_STATE ?? DEFAULT_STATE_PATH,
] as const;

/**
 * `--store <spec>`: the checkpoint store as a path or URL (see runtime/open-store.ts); it
 * overrides `--state`, which stays for SQLite paths.
 */
export const storeOption = [
  '--store <spec>',
  'checkpoint store: a SQLite path, sqlite:<path>, memory:, redis://host:6379[/db]?prefix=p, or cassandra://host:9042/<keyspace>?dc=<datacenter> (overrides --state); env SMARTQUEUE_STORE',
] as const;

/** Applies `--store` (or env SMARTQUEUE_STORE) over `--state`: afterwards `opts.state` is the store spec. */
export function applyStoreFlag<T extends { state: string; store?: string }>(opts: T): T {
  const store = opts.store ?? process.env.SMARTQUEUE_STORE;
  if (store !== undefined && store !== '') opts.state = store;
  return opts;
}

/** `--handlers <module>`: extra handlers by name for `uses:` (default export or `handlers`). */
export const handlersOption = [
  '--handlers <module>',
  'a .ts/.js module exporting handlers by name (default export or `handlers`)',
] as const;

/** `--threads <n>`: worker threads for `thread: true` tasks whose handler comes from --handlers. */
export const threadsOption = [
  '--threads <n>',
  'worker threads for `thread: true` tasks of --handlers handlers (0: run them on the main thread) [default: cores]',
  (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 256)
      throw new InvalidArgumentError('--threads must be an integer from 0 to 256');
    return n;
  },
] as const;

/** `--thread-heap <mb>`: heap limit of each worker thread; a thread over it fails its attempt only. */
export const threadHeapOption = [
  '--thread-heap <mb>',
  'heap limit of each worker thread in MiB: a handler over it fails its attempt, and its thread is replaced',
  (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 8)
      throw new InvalidArgumentError('--thread-heap must be an integer >= 8 (MiB)');
    return n;
  },
] as const;
