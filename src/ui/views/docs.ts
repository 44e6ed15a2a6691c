/** `/docs`: the API as the hub describes it (`/openapi.json`), readable without signing in. */
import { $, html } from '../dom.js';
import type { View } from '../nav.js';

interface Op {
  summary: string;
  'x-access': string;
  parameters: { name: string; in: string; required: boolean; schema: object }[];
  requestBody?: { content: { 'application/json': { schema: object } } };
  responses: Record<string, unknown>;
}

const schemaText = (s: object) => JSON.stringify(s, null, 2);

/** A parameter's schema in a few words: `uuid`, `one of a, b`, `integer 1..500, default 100`; else its JSON. */
function brief(s: Record<string, unknown>): string {
  const words: string[] = [];
  if (s.format) words.push(String(s.format));
  else if (Array.isArray(s.enum)) words.push(`one of ${s.enum.join(', ')}`);
  else if (s.type) words.push(String(s.type));
  else return JSON.stringify(s);
  const range = (lo: unknown, hi: unknown, unit = '') => (lo !== undefined || hi !== undefined ? `${lo ?? ''}..${hi ?? ''}${unit}` : '');
  const r = range(s.minimum, s.maximum) || range(s.minLength, s.maxLength, ' characters');
  if (r) words.push(r);
  if (s.default !== undefined) words.push(`default ${JSON.stringify(s.default)}`);
  return words.join(', ');
}

export const docsView: View = (main) => {
  main.innerHTML = html`<h1>API</h1>
    <p>
      Every route of this hub, made from the schemas it validates with. The same document as JSON:
      <a href="/openapi.json" target="_blank">/openapi.json</a> (OpenAPI 3.1).
    </p>
    <div id="doc" role="status">loading…</div>`.text;
  void fetch('/openapi.json')
    .then((r) => r.json())
    .then((d: { info: { description: string; version: string }; paths: Record<string, Record<string, Op>> }) => {
      $(main, '#doc').innerHTML = html`<p>${d.info.description} (version ${d.info.version})</p>
        ${Object.entries(d.paths).flatMap(([path, ops]) =>
          Object.entries(ops).map(
            ([method, op]) =>
              html`<section class="route">
                <h2><code>${method.toUpperCase()} ${path}</code></h2>
                <p>${op.summary} <span class="badge">${op['x-access']}</span></p>
                ${
                  op.parameters.length
                    ? html`<ul>
                        ${op.parameters.map(
                          (p) =>
                            html`<li>
                              <code>${p.name}</code> (${p.in}${p.required ? ', required' : ''}):
                              ${brief(p.schema as Record<string, unknown>)}
                            </li>`,
                        )}
                      </ul>`
                    : ''
                }
                ${
                  op.requestBody
                    ? html`<details>
                        <summary>request body</summary>
                        <pre>${schemaText(op.requestBody.content['application/json'].schema)}</pre>
                      </details>`
                    : ''
                }
                <p class="muted">answers ${Object.keys(op.responses).join(', ')}</p>
              </section>`,
          ),
        )}`.text;
      $(main, '#doc').removeAttribute('role');
    })
    .catch((err: Error) => ($(main, '#doc').textContent = `could not load /openapi.json: ${err.message}`));
};
