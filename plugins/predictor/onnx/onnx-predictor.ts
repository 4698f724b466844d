/**
 * The `onnx` predictor: durations, per-worker load and arrivals from LSTM/GRU models exported to
 * ONNX and run by onnxruntime-node. Models load in the background and inference runs in
 * batches off the dispatch path (per refresh tick for durations, per closed step for load); the
 * synchronous methods answer from the cached forecasts. Whatever the models cannot answer
 * (too little history yet, no model, a missing or broken model file) the fallback answers: a
 * bad model file costs one warning naming the file and the reason, never a crash.
 */
import type { LoadHistoryRow } from '../../../engine/load-history.js';
import type { ArrivalForecast, DurationQuery, DurationSample, Predictor } from '../../../engine/stages.js';
import { createEwmaPredictor } from '../ewma/index.js';
import { DurationForecaster, durationModelProblem, LoadForecaster, loadModelProblem } from './forecasters.js';
import {
  resolveOnnxPredictorOptions,
  type OnnxPredictorOptions,
  type ResolvedOnnxPredictorOptions,
} from './options.js';
import { openOnnxSession, type OnnxSequenceSession } from './session.js';

/** Which model serves each use once loading settled (`fallback` when none does). */
export interface OnnxPredictorStatus {
  duration: 'model' | 'fallback';
  load: 'model' | 'fallback';
  arrivals: 'model' | 'fallback';
}

/** The `onnx` predictor; `await using` closes it. */
export interface OnnxPredictor extends Predictor, AsyncDisposable {
  readonly options: Readonly<ResolvedOnnxPredictorOptions>;
  readonly fallback: Predictor;
  /** Resolves once every configured model is loaded or has been given up on (never rejects). */
  ready(): Promise<OnnxPredictorStatus>;
  /** Runs pending inference now (what the refresh timer and closed load steps do). */
  refresh(): Promise<void>;
  forecastWorkerLoad(workerId: string): number | undefined;
  observeLoad(row: LoadHistoryRow): void;
  forecastArrivals(): ArrivalForecast | undefined;
}

type Role = 'duration' | 'load' | 'arrivals';

class OnnxPredictorImpl implements OnnxPredictor {
  readonly name = 'onnx';
  readonly options: Readonly<ResolvedOnnxPredictorOptions>;
  readonly fallback: Predictor;
  readonly #sessions = new Map<string, Promise<OnnxSequenceSession | undefined>>();
  readonly #warned = new Set<string>();
  readonly #ready: Promise<OnnxPredictorStatus>;
  readonly #timer: NodeJS.Timeout;
  #duration: DurationForecaster | undefined;
  #load: LoadForecaster | undefined;
  #arrivals: LoadForecaster | undefined;
  #inFlight: Promise<void> | undefined;
  #loadDue = false;
  #closed: Promise<void> | undefined;

  constructor(options: ResolvedOnnxPredictorOptions) {
    this.options = Object.freeze(options);
    this.fallback = options.fallback ?? createEwmaPredictor();
    this.#ready = this.#loadModels();
    this.#timer = setInterval(() => this.#refreshInBackground(), options.refreshIntervalMs);
    // Forecast refreshes must not keep a finished process alive.
    this.#timer.unref();
  }

  estimateDuration(query: DurationQuery): number | undefined {
    return this.#duration?.lookup(query.handler, query.priority) ?? this.fallback.estimateDuration(query);
  }

  observe(sample: DurationSample): void {
    this.fallback.observe(sample);
    if (!Number.isFinite(sample.durationMs) || sample.durationMs < 0) return;
    this.#duration?.observe(sample.handler, sample.durationMs);
  }

  forecastWorkerLoad(workerId: string): number | undefined {
    if (this.#load !== undefined) return this.#load.workerForecast(workerId);
    return this.fallback.forecastWorkerLoad?.(workerId);
  }

  observeLoad(row: LoadHistoryRow): void {
    this.fallback.observeLoad?.(row);
    const closedLoad = this.#load?.observe(row) ?? false;
    const closedArrivals = this.#arrivals?.observe(row) ?? false;
    if (closedLoad || closedArrivals) {
      this.#loadDue = true;
      this.#refreshInBackground();
    }
  }

  forecastArrivals(): ArrivalForecast | undefined {
    if (this.#arrivals !== undefined) return this.#arrivals.arrivalForecast();
    return this.fallback.forecastArrivals?.();
  }

  ready(): Promise<OnnxPredictorStatus> {
    return this.#ready;
  }

  refresh(): Promise<void> {
    // One inference at a time: a refresh asked for meanwhile runs right after the one in flight.
    const run = (this.#inFlight ?? Promise.resolve()).then(() => this.#runOnce());
    const settled = run.catch(() => undefined);
    this.#inFlight = settled;
    void settled.then(() => {
      if (this.#inFlight === settled) this.#inFlight = undefined;
    });
    return run;
  }

  async close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#timer);
      await this.#ready;
      await this.#inFlight;
      const sessions = await Promise.all(this.#sessions.values());
      await Promise.all(sessions.map((s) => s?.close()));
      this.#duration = this.#load = this.#arrivals = undefined;
      await this.fallback.close();
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #runOnce(): Promise<void> {
    if (this.#closed !== undefined) return;
    const loadDue = this.#loadDue;
    this.#loadDue = false;
    await Promise.all([
      this.#guard('duration', this.#duration?.refresh()),
      loadDue ? this.#guard('load', this.#load?.refresh()) : undefined,
      loadDue ? this.#guard('arrivals', this.#arrivals?.refresh()) : undefined,
    ]);
  }

  #refreshInBackground(): void {
    // While one runs, the next timer tick picks up what arrived meanwhile (#loadDue stays set).
    if (this.#closed !== undefined || this.#inFlight !== undefined) return;
    void this.refresh();
  }

  /** An inference that fails (a model that loads but cannot run) retires that use to the fallback. */
  async #guard(role: Role, run: Promise<void> | undefined): Promise<void> {
    try {
      await run;
    } catch (err) {
      const file = this.#fileOf(role) ?? '';
      this.#warn(
        `${file}:${role}:run`,
        `onnx predictor: model ${file} failed to run (${(err as Error).message}); ${role} forecasts come from the ${this.fallback.name} fallback`,
      );
      if (role === 'duration') this.#duration = undefined;
      else if (role === 'load') this.#load = undefined;
      else this.#arrivals = undefined;
    }
  }

  #fileOf(role: Role): string | undefined {
    const o = this.options;
    return role === 'duration' ? o.durationModel : role === 'load' ? o.loadModel : o.arrivalsModel;
  }

  #warn(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.options.logger.warn(message);
  }

  /** Opens each file once (a file shared by two uses is loaded and reported once). */
  #open(file: string): Promise<OnnxSequenceSession | undefined> {
    let session = this.#sessions.get(file);
    if (session === undefined) {
      session = openOnnxSession(file).catch((err: unknown) => {
        const uses = (['duration', 'load', 'arrivals'] as Role[]).filter((r) => this.#fileOf(r) === file);
        const message = (err as Error).message;
        // openOnnxSession's errors name the file already; anything else gets it prefixed.
        const reason = message.includes(file) ? message : `${file}: ${message}`;
        this.#warn(
          file,
          `onnx predictor: cannot use ${reason}; ${uses.join(' and ')} forecasts come from the ${this.fallback.name} fallback`,
        );
        return undefined;
      });
      this.#sessions.set(file, session);
    }
    return session;
  }

  async #loadModels(): Promise<OnnxPredictorStatus> {
    const { durationModel, loadModel, arrivalsModel, loadStepMs, maxCachedKeys } = this.options;
    const use = async (role: Role, file: string | undefined, problemOf: typeof loadModelProblem) => {
      if (file === undefined) return undefined;
      const session = await this.#open(file);
      if (session === undefined) return undefined;
      const problem = problemOf(session.metadata);
      if (problem !== undefined) {
        this.#warn(
          `${file}:${role}`,
          `onnx predictor: cannot use model ${file} for ${role}: ${problem}; ${role} forecasts come from the ${this.fallback.name} fallback`,
        );
        return undefined;
      }
      return session;
    };
    const [duration, load, arrivals] = await Promise.all([
      use('duration', durationModel, durationModelProblem),
      use('load', loadModel, loadModelProblem),
      use('arrivals', arrivalsModel, loadModelProblem),
    ]);
    if (this.#closed === undefined) {
      if (duration) this.#duration = new DurationForecaster(duration, maxCachedKeys);
      if (load) this.#load = new LoadForecaster(load, 'workers', loadStepMs);
      if (arrivals) this.#arrivals = new LoadForecaster(arrivals, 'arrivals', loadStepMs);
    }
    return {
      duration: duration ? 'model' : 'fallback',
      load: load ? 'model' : 'fallback',
      arrivals: arrivals ? 'model' : 'fallback',
    };
  }
}

/**
 * Creates the `onnx` predictor. It returns at once; models load in the background (see
 * {@link OnnxPredictor.ready}) and the fallback answers until they do.
 */
export function createOnnxPredictor(options: OnnxPredictorOptions = {}): OnnxPredictor {
  return new OnnxPredictorImpl(resolveOnnxPredictorOptions(options));
}
