/**
 * Load generator for bench/http.ts, run as a process of its own so that its CPU is not the hub's:
 * C concurrent clients POST /v1/ops until N ops are created; prints the rate as JSON.
 */
const [base, token, n, c] = process.argv.slice(2);
const N = Number(n),
  C = Number(c);
let next = 0;
const body = JSON.stringify({ kind: 'quick', scope: { type: 'hub' } });
const t0 = performance.now();
await Promise.all(
  Array.from({ length: C }, async () => {
    while (next++ < N) {
      const res = await fetch(`${base}/v1/ops`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  }),
);
console.log(JSON.stringify({ rate: N / ((performance.now() - t0) / 1000) }));
