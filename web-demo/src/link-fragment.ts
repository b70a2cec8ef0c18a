/**
 * A page's link, read from its URL fragment (never sent to a server) once: the fragment leaves
 * the address bar at once (so a token is not copied with the address), and once it parses it is
 * kept in sessionStorage, so a reload of the tab finds it again.
 */
export function linkFromFragment<T>(storageKey: string, parse: (fragment: string) => T): T | undefined {
  const fresh = location.hash.length > 1 ? location.hash.slice(1) : undefined;
  if (fresh !== undefined) history.replaceState(null, '', location.pathname + location.search);
  const text = fresh ?? sessionStorage.getItem(storageKey);
  if (text === null) return undefined;
  const link = parse(text);
  if (fresh !== undefined) sessionStorage.setItem(storageKey, fresh);
  return link;
}
