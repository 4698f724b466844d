/**
 * Loads workflows from files and directories: YAML (one or more documents) or TypeScript /
 * JavaScript modules that export workflows made with the DSL. Returns IRs with their source maps,
 * or diagnostics that name file:line:column.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SourceDiagnostic } from '../engine/errors.js';
import type { TaskHandler } from '../engine/handler.js';
import { dslSource, isWorkflowDefinition } from './builder.js';
import { compileWorkflow } from './compiler.js';
import type { CompiledPlan, CompileOptions } from './compiler.js';
import type { WorkflowIR } from './ir.js';
import { normalizeWorkflow } from './normalize.js';
import type { WorkflowSource } from './source.js';
import { DEFAULT_LIMITS, parseYamlDocuments } from './yaml-loader.js';
import type { LoaderLimits } from './yaml-loader.js';

/** One workflow read from a file, validated into IR. */
export interface LoadedWorkflow {
  ir: WorkflowIR;
  source: WorkflowSource;
  /** Source index of each IR task (error positions). */
  taskIndex: number[];
  partial: boolean;
  /** Inline handlers of DSL workflows. */
  handlers: Map<string, TaskHandler>;
  /** Absolute path of the file it came from (for replays of DSL workflows). */
  file?: string;
}

export interface LoadResult {
  workflows: LoadedWorkflow[];
  diagnostics: SourceDiagnostic[];
}

const YAML_EXT = new Set(['.yaml', '.yml']);
const MODULE_EXT = new Set(['.ts', '.mts', '.js', '.mjs']);

/** True when a path looks like a workflow file. */
export function isWorkflowFile(file: string): boolean {
  const ext = path.extname(file).toLowerCase();
  return (YAML_EXT.has(ext) || MODULE_EXT.has(ext)) && !file.endsWith('.d.ts');
}

function fileDiagnostic(file: string, message: string, line = 1, column = 1): SourceDiagnostic {
  return { file, line, column, path: '', message, severity: 'error' };
}

/** Loads workflows from YAML text. */
export function loadYamlText(
  text: string,
  file = '<input>',
  limits: LoaderLimits = DEFAULT_LIMITS,
): LoadResult {
  const { documents, diagnostics } = parseYamlDocuments(text, file, limits);
  const workflows: LoadedWorkflow[] = [];
  for (const doc of documents) {
    const r = normalizeWorkflow(doc.data, doc.source, limits.maxTasks);
    diagnostics.push(...r.diagnostics);
    if (r.ir) {
      workflows.push({
        ir: r.ir,
        source: doc.source,
        taskIndex: r.taskIndex,
        partial: r.partial ?? false,
        handlers: new Map(),
      });
    }
  }
  return { workflows, diagnostics };
}

/** Imports a workflow module (TypeScript through tsx) and collects its exported workflows. */
async function loadModule(file: string, shown: string, limits: LoaderLimits): Promise<LoadResult> {
  const abs = path.resolve(file);
  let mod: Record<string, unknown>;
  try {
    if (/\.m?ts$/.test(abs)) {
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
    } else {
      mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    }
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const m =
      err instanceof Error
        ? new RegExp(`${abs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`).exec(err.stack ?? '')
        : null;
    return {
      workflows: [],
      diagnostics: [
        fileDiagnostic(
          shown,
          `cannot load workflow module: ${why}`,
          Number(m?.[1] ?? 1),
          Number(m?.[2] ?? 1),
        ),
      ],
    };
  }
  const defs = new Set(Object.values(mod).filter(isWorkflowDefinition));
  // `export default` of a CommonJS-style module nests one level deeper.
  const nested = mod.default as Record<string, unknown> | undefined;
  if (nested && typeof nested === 'object' && !isWorkflowDefinition(nested)) {
    for (const v of Object.values(nested)) if (isWorkflowDefinition(v)) defs.add(v);
  }
  if (defs.size === 0) {
    return {
      workflows: [],
      diagnostics: [
        fileDiagnostic(shown, 'the module exports no workflow (use `export default workflow(...)`)'),
      ],
    };
  }
  const result: LoadResult = { workflows: [], diagnostics: [] };
  const text = await readFile(abs, 'utf8').catch(() => undefined);
  for (const def of defs) {
    const source = dslSource(def, shown, text);
    const r = normalizeWorkflow(def.document, source, limits.maxTasks);
    result.diagnostics.push(...r.diagnostics);
    if (r.ir) {
      result.workflows.push({
        ir: r.ir,
        source,
        taskIndex: r.taskIndex,
        partial: r.partial ?? false,
        handlers: new Map(def.handlers),
        file: abs,
      });
    }
  }
  return result;
}

/** Loads every workflow in one file. */
export async function loadWorkflowFile(
  file: string,
  limits: LoaderLimits = DEFAULT_LIMITS,
): Promise<LoadResult> {
  let info;
  try {
    info = await stat(file);
  } catch {
    return { workflows: [], diagnostics: [fileDiagnostic(file, 'no such file')] };
  }
  if (info.isDirectory()) {
    return {
      workflows: [],
      diagnostics: [
        fileDiagnostic(file, 'is a directory: name a workflow file (validate takes directories)'),
      ],
    };
  }
  const ext = path.extname(file).toLowerCase();
  if (MODULE_EXT.has(ext)) return loadModule(file, file, limits);
  if (info.size > limits.maxFileBytes) {
    return {
      workflows: [],
      diagnostics: [
        fileDiagnostic(file, `file is ${info.size} bytes; the limit is ${limits.maxFileBytes} bytes`),
      ],
    };
  }
  const result = loadYamlText(await readFile(file, 'utf8'), file, limits);
  for (const w of result.workflows) w.file = path.resolve(file);
  return result;
}

/** Expands files and directories (recursively) into workflow files, sorted. */
export async function findWorkflowFiles(
  inputs: string[],
): Promise<{ files: string[]; diagnostics: SourceDiagnostic[] }> {
  const files: string[] = [];
  const diagnostics: SourceDiagnostic[] = [];
  const walk = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && !e.name.startsWith('.')) await walk(p);
      } else if (isWorkflowFile(p)) files.push(p);
    }
  };
  for (const input of inputs) {
    let info;
    try {
      info = await stat(input);
    } catch {
      diagnostics.push(fileDiagnostic(input, 'no such file or directory'));
      continue;
    }
    if (info.isDirectory()) await walk(input);
    else files.push(input);
  }
  return { files, diagnostics };
}

/** A loaded workflow with its compiled plan. */
export interface CompiledWorkflow {
  loaded: LoadedWorkflow;
  plan: CompiledPlan;
}

/** Loads and compiles every workflow in a file; all diagnostics of the file are returned. */
export async function compileFile(
  file: string,
  options: CompileOptions & { limits?: LoaderLimits } = {},
): Promise<{ compiled: CompiledWorkflow[]; diagnostics: SourceDiagnostic[] }> {
  const { workflows, diagnostics } = await loadWorkflowFile(file, options.limits);
  const compiled: CompiledWorkflow[] = [];
  for (const loaded of workflows) {
    const r = compileWorkflow(loaded.ir, loaded.source, {
      ...options,
      taskIndex: loaded.taskIndex,
      partial: loaded.partial,
    });
    diagnostics.push(...r.diagnostics);
    if (r.plan && !loaded.partial) compiled.push({ loaded, plan: r.plan });
  }
  return { compiled, diagnostics };
}
