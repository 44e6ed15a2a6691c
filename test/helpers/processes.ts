import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';

const FIXTURE = new URL('../fixtures/worker-process.ts', import.meta.url).pathname;
const children = new Set<ChildProcess>();

// A test that leaves a worker process behind fails the next one's isolation: kill leftovers.
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the first stdout line that matches. */
  line(pattern: RegExp): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** Starts test/fixtures/worker-process.ts as its own OS process and waits until it claims. */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const lines = createInterface({ input: child.stdout! });
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? -1);
    }),
  );
  const line = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const onLine = (l: string) => {
        if (!pattern.test(l)) return;
        lines.off('line', onLine);
        resolve(l);
      };
      lines.on('line', onLine);
      void exited.then((code) => reject(new Error(`worker process exited (${code}) before printing ${pattern}`)));
    });
  const worker = { child, line, exited };
  await line(/^ready$/);
  return worker;
}
