/**
 * Writes dsl/workflow.schema.json (the JSON Schema that editors use through yaml-language-server)
 * from the zod definitions in dsl/schema.ts, so the two can never disagree.
 *
 *   npx tsx scripts/gen-schema.ts           write the file
 *   npx tsx scripts/gen-schema.ts --check   exit 1 if the committed file is stale
 *
 * The text is formatted with the project's Prettier settings, so `prettier --check .` accepts the
 * generated file as it is.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { workflowJsonSchema } from '../dsl/schema.js';

/** Absolute path of the generated schema file. */
export const SCHEMA_FILE = fileURLToPath(new URL('../dsl/workflow.schema.json', import.meta.url));

/** The schema file's exact text: pretty JSON ending with a newline. */
export async function renderWorkflowSchema(): Promise<string> {
  const options = (await resolveConfig(SCHEMA_FILE)) ?? {};
  return format(JSON.stringify(workflowJsonSchema()), { ...options, filepath: SCHEMA_FILE, parser: 'json' });
}

async function main(argv: string[]): Promise<number> {
  const text = await renderWorkflowSchema();
  const shown = path.relative(process.cwd(), SCHEMA_FILE);
  if (argv.includes('--check')) {
    const current = await readFile(SCHEMA_FILE, 'utf8').catch(() => undefined);
    if (current === text) return 0;
    console.error(`${shown} is out of date: run npx tsx scripts/gen-schema.ts`);
    return 1;
  }
  await writeFile(SCHEMA_FILE, text);
  console.log(`wrote ${shown} (${Buffer.byteLength(text)} bytes)`);
  return 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
