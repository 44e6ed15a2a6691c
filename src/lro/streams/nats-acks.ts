import { createInbox, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** What JetStream answers a stored publish with. */
export interface PubAck {
  stream: string;
  seq: number;
}

/** JetStream refused a publish: `api_error` as the client library's own errors carry it (see `apiCode`). */
export class JetStreamPublishError extends Error {
  readonly api_error: { code: number; err_code: number; description: string };
  constructor(error: { code: number; err_code: number; description: string }) {
    super(`${error.description} (${error.err_code})`);
    this.api_error = error;
  }
}

/**
 * How long the first publish of a batch waits for others to go out with it. Against sending at the end
 * of each turn (setImmediate), 2 ms took a noop op from 50 to 42 µs of nats-server CPU and from 186 to
 * 174 µs of client CPU, and ran 3,563 ops/s where that ran 3,059 (medians of 3 alternating runs,
 * 10,000 ops, concurrency 20); 5 ms saved more server CPU but no throughput. A summary reaches its
 * readers that much later.
 */
const LINGER_MS = 2;

interface Outgoing {
  n: number;
  subject: string;
  data: string;
  headers: MsgHdrs;
}

interface Pending {
  resolve: (ack: PubAck) => void;
  reject: (err: Error) => void;
  deadline: number;
}

/**
 * JetStream publishes with their acks on one subscription: a publish is a plain `PUB` with a reply
 * subject `<inbox>.<n>`, and the ack finds its caller by `n`; timeouts are swept once a second.
 * The client's own `js.publish` makes a request object, a timer and (after every answer) an unused
 * error per publish: this path takes 13–15 µs of client CPU a publish where that takes 26–30
 * (20,000 publishes, 40 in flight, async traces off in both; the server's 12–14 µs is the same).
 */
export class AckedPublisher {
  readonly #nc: NatsConnection;
  readonly #prefix = createInbox();
  readonly #pending = new Map<number, Pending>();
  readonly #timeoutMs: number;
  #sub: Subscription | null = null;
  #sweep: NodeJS.Timeout | null = null;
  #next = 0;
  /** Publishes asked for in the last `LINGER_MS`, sent together. */
  #outgoing: Outgoing[] = [];

  /** @param timeoutMs how long a publish waits for its ack before it fails (and is retried by its caller) */
  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
  }

  /** Publishes `data` on `subject`; resolves with the ack, rejects on a refusal, a timeout or no JetStream. */
  publish(subject: string, data: string, headers: MsgHdrs): Promise<PubAck> {
    this.#start();
    const n = ++this.#next;
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(n, { resolve, reject, deadline: Date.now() + this.#timeoutMs });
      if (this.#outgoing.push({ n, subject, data, headers }) === 1) setTimeout(() => this.#send(), LINGER_MS);
    });
  }

  /**
   * Sends the publishes gathered in one synchronous loop, so the client writes them to its socket in
   * one call: a write per publish (each from its own microtask) was the largest client cost of the
   * `nats` streams, 1.7 of 8.7 s of CPU in a 20,000-op `npm run bench` round (0.46 s after).
   */
  #send(): void {
    const batch = this.#outgoing;
    this.#outgoing = [];
    for (const { n, subject, data, headers } of batch) {
      try {
        this.#nc.publish(subject, data, { reply: `${this.#prefix}.${n}`, headers });
      } catch (err) {
        const p = this.#pending.get(n);
        this.#pending.delete(n);
        p?.reject(err as Error);
      }
    }
  }

  /** Fails every publish still waiting and stops listening. Idempotent. */
  close(): void {
    this.#outgoing = [];
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = null;
    this.#sub?.unsubscribe();
    this.#sub = null;
    this.#fail(() => true, 'connection closed');
  }

  #start(): void {
    if (this.#sub) return;
    this.#sub = this.#nc.subscribe(`${this.#prefix}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const n = Number(msg.subject.slice(this.#prefix.length + 1));
        const p = this.#pending.get(n);
        if (!p) return; // timed out already: its caller has moved on
        this.#pending.delete(n);
        // An empty answer is a status (503: no JetStream listening on the subject).
        if (msg.data.length === 0) return p.reject(new Error(`JetStream did not store the message (${msg.headers?.code ?? 'no answer'})`));
        let ack: PubAck & { error?: { code: number; err_code: number; description: string } };
        try {
          ack = msg.json();
        } catch (err) {
          return p.reject(err as Error); // not an ack: the write is retried, and judged by what was stored
        }
        if (ack.error) p.reject(new JetStreamPublishError(ack.error));
        else p.resolve(ack);
      },
    });
    this.#sweep = setInterval(() => {
      const now = Date.now();
      this.#fail((p) => p.deadline <= now, 'timeout');
    }, 1000);
    this.#sweep.unref();
  }

  #fail(match: (p: Pending) => boolean, message: string): void {
    for (const [n, p] of this.#pending) {
      if (!match(p)) continue;
      this.#pending.delete(n);
      p.reject(new Error(`JetStream publish: ${message}`));
    }
  }
}
