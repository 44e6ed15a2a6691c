/** Moving between the page's views without a reload (the app listens for `NAVIGATED`). */
export const NAVIGATED = 'lro-navigated';

/** A view draws into `<main>` and returns what stops it (timers, live bars) when the person leaves. */
export type View = (main: HTMLElement, arg: string) => (() => void) | void;

export function navigate(path: string): void {
  history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATED));
}
