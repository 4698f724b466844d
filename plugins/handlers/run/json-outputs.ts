/**
 * Named outputs of `run` tasks. A command declares outputs by printing a JSON object as the
 * last non-empty line of its stdout:
 *
 * ```sh
 * echo '{"rows": 1200, "path": "/data/out.parquet"}'
 * ```
 *
 * Its keys become outputs of the task, next to `exitCode`, `stdout` and `stderr`, so a
 * dependant can use `${{ tasks.extract.outputs.rows }}`. The built-in keys win over JSON keys of
 * the same name. Any other last line (text, an array, a number, invalid JSON) adds no outputs.
 */

/** The JSON object on the last non-empty line of `stdout`, or undefined when there is none. */
export function parseLastLineOutputs(stdout: string): Record<string, unknown> | undefined {
  let end = stdout.length;
  // Walk back over trailing blank lines without splitting a possibly 1 MiB string.
  while (end > 0) {
    const start = stdout.lastIndexOf('\n', end - 1) + 1;
    const line = stdout.slice(start, end).trim();
    if (line !== '') return parseObject(line);
    end = start - 1;
  }
  return undefined;
}

function parseObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{') || !line.endsWith('}')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Not JSON after all: a line of text that happens to start with '{'.
  }
  return undefined;
}
