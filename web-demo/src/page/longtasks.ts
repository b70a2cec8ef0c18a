/**
 * The longest main-thread task since a mark (PerformanceObserver 'longtask': tasks over 50 ms),
 * shown while training runs: the page must stay responsive (target ≤ 100 ms).
 */
let longest = 0;
let observing = false;

export function watchLongTasks(): boolean {
  if (observing) return true;
  if (!PerformanceObserver.supportedEntryTypes?.includes('longtask')) return false;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longest = Math.max(longest, e.duration);
  }).observe({ type: 'longtask' });
  observing = true;
  return true;
}

/** The longest main-thread task (ms) since the last reset; 0 if none passed 50 ms. */
export const longestTask = (): number => longest;

export function resetLongTasks(): void {
  longest = 0;
}
