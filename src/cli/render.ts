import { shortOpId, type Operation } from '../shared/operation.js';
import { formatAmount, type ProgressSummary } from '../shared/progress.js';

const WIDTH = 24;

/** One line per op: status, overall bar, current phase and its count. */
export function renderOp(op: Operation): string {
  const s = op.progress_summary as ProgressSummary | null;
  const pct = op.status === 'succeeded' ? 100 : (s?.percent ?? 0);
  const filled = Math.round((pct / 100) * WIDTH);
  const bar = '#'.repeat(filled) + '-'.repeat(WIDTH - filled);
  const phase = s?.phases.find((p) => p.phase === s.phase);
  const count = phase?.total !== undefined ? ` ${formatAmount(phase.current ?? 0, phase.total, phase.unit)}` : '';
  const tail = op.status === 'failed' || op.status === 'canceled' ? `  ${op.error?.message ?? ''}` : '';
  const head = `${shortOpId(op.op_id)} ${op.kind.padEnd(14)} ${op.status.padEnd(9)}`;
  return `${head} [${bar}] ${pct.toFixed(0).padStart(3)}% ${s?.phase ?? ''}${count}${tail}`;
}

/** Redraws a block of lines in place on a terminal; prints only changed blocks elsewhere. */
export class LineBlock {
  #lines = 0;
  #last = '';
  draw(lines: string[]): void {
    const text = lines.join('\n');
    if (text === this.#last) return;
    this.#last = text;
    if (process.stdout.isTTY && this.#lines > 0) process.stdout.write(`\x1b[${this.#lines}A\x1b[J`);
    process.stdout.write(`${text}\n`);
    this.#lines = lines.length;
  }
}
