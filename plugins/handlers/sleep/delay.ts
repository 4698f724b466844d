/**
 * An abortable wait that also works for waits longer than setTimeout's 2^31-1 ms limit (a longer
 * delay would otherwise fire after 1 ms).
 */

const MAX_TIMER_MS = 2_147_483_647;

/** Resolves after `ms`; rejects with `signal.reason` as soon as the signal aborts. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const endsAt = Date.now() + ms;
    let timer: NodeJS.Timeout;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const arm = (remaining: number): void => {
      timer = setTimeout(
        () => {
          const left = endsAt - Date.now();
          if (left > 0 && remaining > MAX_TIMER_MS) {
            arm(left);
            return;
          }
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.min(remaining, MAX_TIMER_MS),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    arm(ms);
  });
}
