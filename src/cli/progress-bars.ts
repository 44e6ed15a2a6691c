import cliProgress from 'cli-progress';
import type { WatchEvent } from '../api/client.js';

/**
 * Draws one bar per phase (percent, current/total with units, speed, ETA) from a watched op's events,
 * and prints its messages and state changes above the bars.
 */
export class PhaseBars {
  readonly #multi = new cliProgress.MultiBar({
    format: ' {phase} |{bar}| {percentage}% {value}/{total} {unit} {speed} {eta_text}',
    hideCursor: true, clearOnComplete: false, stopOnComplete: false, noTTYOutput: true, notTTYSchedule: 1000,
  }, cliProgress.Presets.shades_classic);
  readonly #bars = new Map<string, cliProgress.SingleBar>();

  show(e: WatchEvent): void {
    if (e.event === 'gap') this.#multi.log(`(events ${e.data.from_seq}-${e.data.to_seq} were no longer kept)\n`);
    if (e.event === 'summary') this.#multi.log(`[${e.data.summary.status}${e.data.summary.stalled ? ', stalled' : ''}]\n`);
    if (e.event !== 'progress') return;
    const d = e.data;
    const p = d.progress;
    const [value, total, unit] = typeof p === 'number' ? [p, 100, '%'] : p ? [p.current, p.total, p.unit ?? ''] : [0, 0, ''];
    const payload = {
      phase: String(d.phase).padEnd(10), unit, speed: d.speed ? `${d.speed.toFixed(1)}/s` : '',
      eta_text: d.eta_s !== undefined ? `eta ${Math.round(d.eta_s)}s` : '',
    };
    let bar = this.#bars.get(d.phase);
    if (!bar) this.#bars.set(d.phase, (bar = this.#multi.create(total, value, payload)));
    bar.setTotal(total);
    bar.update(value, payload);
    if (d.message) this.#multi.log(`${d.level ? `${d.level}: ` : ''}${d.phase}: ${d.message}\n`);
  }

  stop(): void {
    this.#multi.stop();
  }
}
