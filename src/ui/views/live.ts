/** Live bars: one `<lro-progress>` per op, kept in a container as ops start and end. */
import { api, token } from '../api.js';
import { html, say } from '../dom.js';
import type { LroProgressElement } from '../lro-progress.js';
import { shortOpId } from '../../shared/operation.js';

/** A labelled live bar for one op, with a link to its page. */
export function liveBar(opId: string, label: string): HTMLElement {
  const box = document.createElement('section');
  box.className = 'live';
  box.dataset.op = opId;
  box.setAttribute('aria-label', label);
  box.innerHTML = html`<h3>${label} <a href="/ops/${opId}">operation ${shortOpId(opId)}</a></h3>
    <lro-progress></lro-progress>`.text;
  const el = box.querySelector('lro-progress') as LroProgressElement;
  el.setAttribute('token', token() ?? '');
  el.setAttribute('op-id', opId);
  return box;
}

/**
 * Keeps `container` showing a bar for each of `ops` (at most `max`: each is one stream to the hub,
 * and a browser holds few connections per host); bars of ops no longer listed stay until replaced.
 * An op with a bar anywhere on the page already (a dialog's) gets no second one.
 */
export function syncBars(container: HTMLElement, ops: { op_id: string; kind: string }[], max = 3): void {
  const shown = (opId: string) => document.querySelector(`section.live[data-op="${opId}"]`) !== null;
  for (const op of ops.slice(0, max)) if (!shown(op.op_id)) container.prepend(liveBar(op.op_id, op.kind));
  while (container.children.length > max) container.lastElementChild!.remove();
}

/** Creates an op in `scope` and shows its bar (titled `label`) in `live`; the hub's refusal in `errorEl`. */
export async function startOp(
  scope: { type: string; id: string },
  kind: string,
  input: object,
  live: HTMLElement,
  errorEl: HTMLElement,
  label = kind,
) {
  try {
    const made = await api<{ op_id: string; warnings?: string[] }>('POST', '/v1/ops', {
      kind,
      scope,
      input,
    });
    errorEl.textContent = '';
    live.querySelector(`[data-op="${made.op_id}"]`)?.remove();
    live.prepend(liveBar(made.op_id, label));
    return made;
  } catch (err) {
    say(errorEl, (err as Error).message);
    return null;
  }
}

export const projectScope = (p: { project_id: string }) => ({ type: 'project', id: p.project_id });
