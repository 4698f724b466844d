/**
 * The entry point runtimes call: cheap to import, it loads the SDK (setup.ts) only when an
 * exporter is configured.
 */
import type { ResolvedTracingOptions } from './options.js';
import type { Tracing } from './setup.js';

/**
 * Starts tracing as `options` say (see setup.ts), importing the SDK only now; resolves to
 * undefined when the exporter is `none`.
 */
export async function openTracing(options: ResolvedTracingOptions): Promise<Tracing | undefined> {
  if (options.exporter === 'none') return undefined;
  const { startTracing } = await import('./setup.js');
  return startTracing(options);
}
