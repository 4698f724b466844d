/**
 * Short, URL-safe ids that sort by creation time: `<prefix>_<time><counter>`, where `<time>` is
 * the epoch ms in base 36 padded to 9 characters (fixed width until the year 5188, so text order
 * is time order) and `<counter>` is 2 base-36 characters numbering ids within one ms. Example:
 * `run_0lx8kq2bf00`.
 *
 * The clock is kept monotonic: if the system clock steps back, ids keep counting from the last
 * time used; if more than 1296 ids are made within one ms, the extra ones borrow the next ms.
 * So ids of one generator are unique and strictly increasing.
 */
import { SmartQueueError } from '../../../engine/errors.js';

const TIME_WIDTH = 9;
const COUNTER_WIDTH = 2;
const COUNTER_LIMIT = 36 ** COUNTER_WIDTH;
const PREFIX_RE = /^[A-Za-z0-9-]+$/;

/** Makes ids of the form described above. */
export class IdGenerator {
  #lastMs = -1;
  #counter = 0;
  /** The formatted time part of #lastMs, cached: it changes at most once per ms. */
  #timePart = '';
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * A new id. `prefix` is letters, digits and `-` (the `_` separates it from the rest).
   * @throws SmartQueueError `INVALID_ARGUMENT` for a bad prefix.
   */
  next(prefix: string): string {
    if (!PREFIX_RE.test(prefix)) {
      throw new SmartQueueError(
        'INVALID_ARGUMENT',
        `id prefix must be letters, digits and '-', got ${JSON.stringify(prefix)}`,
      );
    }
    const now = Math.floor(this.#now());
    if (now > this.#lastMs) {
      this.#setTime(now);
    } else if (++this.#counter === COUNTER_LIMIT) {
      this.#setTime(this.#lastMs + 1);
    }
    return `${prefix}_${this.#timePart}${this.#counter.toString(36).padStart(COUNTER_WIDTH, '0')}`;
  }

  #setTime(ms: number): void {
    this.#lastMs = ms;
    this.#counter = 0;
    this.#timePart = ms.toString(36).padStart(TIME_WIDTH, '0');
  }
}
