import cliProgress from 'cli-progress';
import type { WatchEvent } from '../client/client.js';
import { formatAmount, formatSpeed } from '../shared/progress.js';

/**
 * Draws one bar per phase (percent, current/total with units, speed, ETA, its latest message) from a
 * watched op's events, and prints state changes, warnings and errors above the bars. A phase shows
 * the ETA its latest event carried (none once it completed); once the op is not running, none does.
 */
export class PhaseBars {
  readonly #multi: cliProgress.MultiBar;
  readonly #bars = new Map<string, cliProgress.SingleBar>();
  #last = '';

  /** @param stream where the bars are drawn @default process.stderr */
  constructor(stream: NodeJS.WritableStream = process.stderr) {
    this.#multi = new cliProgress.MultiBar(
      {
        format: ' {phase} |{bar}| {percentage}% {amount} {speed} {eta_text} {msg}',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        noTTYOutput: true,
        notTTYSchedule: 1000,
        stream,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  /** Phases seen only with messages so far. */
  readonly #spoken = new Set<string>();

  show(e: WatchEvent): void {
    if (e.event === 'gap') this.#multi.log(`(events ${e.data.from_seq}-${e.data.to_seq} were no longer kept)\n`);
    if (e.event === 'summary') {
      const s = e.data.summary;
      this.#last = `[${s.status}${s.stalled ? ', stalled' : ''}${s.error ? `: ${s.error.message}` : ''}]`;
      this.#multi.log(`${this.#last}\n`);
      // A phase's last ETA was its own guess while it ran; the op stopped (ended, or waits for a retry).
      if (s.status !== 'running') for (const bar of this.#bars.values()) bar.update({ eta_text: '' });
      if (s.status === 'succeeded') this.#spokeDone(null);
    }
    if (e.event !== 'progress') return;
    const d = e.data;
    const p = d.progress;
    const [value, total, unit] = typeof p === 'number' ? [p, 100, '%'] : p ? [p.current, p.total, p.unit ?? ''] : [0, 0, ''];
    const payload = {
      phase: String(d.phase).padEnd(10),
      amount: unit === '%' ? '' : formatAmount(value, total, unit || undefined), // bytes as KiB/MiB/GiB
      speed: d.speed ? formatSpeed(d.speed, unit || undefined) : '',
      eta_text: d.eta_s !== undefined ? `eta ${Math.round(d.eta_s)}s` : '',
      msg: d.message ? String(d.message).slice(0, 40) : this.#bars.get(d.phase) ? undefined : '',
    };
    if (payload.msg === undefined) delete (payload as { msg?: string }).msg; // keep the phase's last message
    this.#spokeDone(d.phase);
    if (!p && !this.#bars.has(d.phase)) this.#spoken.add(d.phase);
    if (p) this.#spoken.delete(d.phase);
    let bar = this.#bars.get(d.phase);
    if (!bar) this.#bars.set(d.phase, (bar = this.#multi.create(total, value, payload)));
    bar.setTotal(total);
    bar.update(value, payload);
    // Ordinary messages ride on their phase's bar; warnings and errors also go above the bars.
    if (d.message && (d.level === 'warn' || d.level === 'error')) this.#multi.log(`${d.level}: ${d.phase}: ${d.message}\n`);
  }

  /** Phases that only spoke (no count) are done once another began, or the op succeeded (`except` null): full bars. */
  #spokeDone(except: string | null): void {
    for (const phase of this.#spoken) {
      if (phase === except) continue;
      this.#spoken.delete(phase);
      const bar = this.#bars.get(phase);
      bar?.setTotal(1);
      bar?.update(1, { amount: 'done' });
    }
  }

  /** Stops drawing and prints the last state (a log line still queued for the next frame would be lost). */
  stop(): void {
    this.#multi.stop();
    if (this.#last) console.log(this.#last);
  }
}
