/**
 * `--handlers <module>`: a TypeScript or JavaScript module whose default export (or `handlers`
 * export) maps handler names to functions, so YAML tasks can `uses:` them.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SmartQueueError } from '../engine/errors.js';
import type { TaskHandler } from '../engine/handler.js';

/** Where each handler of a `--handlers` module lives, for running it in a worker thread. */
export function handlerModules(
  file: string,
  handlers: ReadonlyMap<string, TaskHandler>,
): Map<string, { module: string; export: string }> {
  const module = path.resolve(file);
  return new Map([...handlers.keys()].map((name) => [name, { module, export: name }]));
}

export async function loadHandlersModule(file: string): Promise<Map<string, TaskHandler>> {
  const url = pathToFileURL(path.resolve(file)).href;
  let mod: Record<string, unknown>;
  try {
    if (/\.m?ts$/.test(file)) {
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(url, import.meta.url)) as Record<string, unknown>;
    } else mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `cannot load handlers from ${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
  const source = (mod.handlers ?? mod.default) as unknown;
  const entries: [string, unknown][] =
    source instanceof Map
      ? [...(source as Map<string, unknown>)]
      : source && typeof source === 'object'
        ? Object.entries(source)
        : [];
  const handlers = new Map<string, TaskHandler>();
  for (const [name, fn] of entries) if (typeof fn === 'function') handlers.set(name, fn as TaskHandler);
  if (handlers.size === 0) {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `${file} exports no handlers: export default { name: async (ctx) => ({ ...outputs }) } (or a "handlers" object or Map)`,
    );
  }
  return handlers;
}
