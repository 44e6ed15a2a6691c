/**
 * The page's one way to the hub: the token (typed, or handed once in the URL fragment `#token=…`,
 * kept in session storage), JSON requests, and the hub's error as an `ApiError`. A token the hub
 * refuses (401) signs the person out with the hub's reason, once, wherever it happened.
 */
const KEY = 'lro-token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

let onSignedOut: (reason: string) => void = () => {};

/** What the app does when the hub refuses the token (back to sign-in, with the reason). */
export function whenSignedOut(fn: (reason: string) => void): void {
  onSignedOut = fn;
}

export function token(): string | null {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]!));
    history.replaceState(null, '', location.pathname + location.search); // never leave it in the URL
  }
  return sessionStorage.getItem(KEY);
}

export const signIn = (t: string) => sessionStorage.setItem(KEY, t);
export const signOut = () => sessionStorage.removeItem(KEY);

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'unreachable', 'the hub cannot be reached; check your connection and try again');
  }
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : null;
  if (res.ok) return parsed as T;
  const error = parsed?.error ?? {};
  const failure = new ApiError(res.status, error.code ?? 'error', error.message ?? `HTTP ${res.status}`, error.details);
  if (res.status === 401) {
    signOut();
    onSignedOut(`the hub refused your token (${failure.message}); sign in again`);
  }
  throw failure;
}
