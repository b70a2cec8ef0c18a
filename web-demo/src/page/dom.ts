/** Small DOM helpers shared by the demo's sections. */

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function h(tag: string, props: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Sets a figure of the page: its text for people, its `data-value` (the number) for tests and scripts. */
export function figure(id: string, value: number, text = fmt(value)): void {
  const el = $(id);
  el.textContent = text;
  el.dataset.value = String(value);
}

/** Shows an error on the page (and in the console): what failed, and the error's own words. */
export function showError(where: string, e: unknown): void {
  const el = $('error');
  const err = e instanceof Error ? e : new Error(String(e));
  el.hidden = false;
  el.textContent += `${el.textContent ? '\n\n' : ''}${where}: ${err.name}: ${err.message}`;
  console.error(where, e);
}

/** Wall-clock milliseconds with sub-millisecond precision (task timestamps use the same clock). */
export const nowMs = () => performance.timeOrigin + performance.now();
