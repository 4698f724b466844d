/**
 * The `allowedHosts` check. It runs on every URL the handler is about to request, redirect
 * targets included, so a redirect cannot lead a task to a host it may not call.
 */

/** The port a URL connects to, explicit or implied by its scheme. */
function effectivePort(url: URL): string {
  if (url.port !== '') return url.port;
  return url.protocol === 'https:' ? '443' : '80';
}

/** Whether `url` matches an entry of `allowedHosts` (lower-cased); undefined allows every host. */
export function isHostAllowed(url: URL, allowedHosts: readonly string[] | undefined): boolean {
  if (allowedHosts === undefined) return true;
  // URL lower-cases host names; IPv6 literals keep their brackets ([::1]), as entries must too.
  const host = url.hostname;
  const hostPort = `${host}:${effectivePort(url)}`;
  for (const entry of allowedHosts) {
    if (entry === host || entry === hostPort) return true;
    if (entry.startsWith('*.') && host.endsWith(entry.slice(1))) return true;
  }
  return false;
}
