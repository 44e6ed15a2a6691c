import { once } from 'node:events';
import pg from 'pg';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { PgListener } from '../src/lro/listener.js';
import { silentLogger } from '../src/lro/log.js';
import { createTestDatabase } from './helpers/db.js';

const url = await createTestDatabase();
const admin = new pg.Pool({ connectionString: url, max: 2 });
admin.on('error', () => {}); // an idle client ended when the database is dropped after the file
afterAll(() => admin.end());

/** The server processes of listeners named `name`. */
const backends = async (name: string): Promise<number[]> =>
  (await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [name])).rows.map((r) => r.pid);

/** Resolves with the next notification on `channel` carrying `payload`. */
const heard = (listener: PgListener, channel: string, payload: string) =>
  new Promise<void>((resolve) => {
    const on = (c: string, p: string) => {
      if (c !== channel || p !== payload) return;
      listener.off('notification', on);
      resolve();
    };
    listener.on('notification', on);
  });

describe('PgListener lifecycle', () => {
  it('connects on start, not in its constructor; start and stop are idempotent', async () => {
    const listener = new PgListener({ connectionString: url, applicationName: 'lro-listen-life', log: silentLogger });
    expect(await backends('lro-listen-life')).toEqual([]);
    await Promise.all([listener.start(), listener.start()]);
    expect(await backends('lro-listen-life')).toHaveLength(1);
    const notified = heard(listener, 'lro_done', 'one');
    await admin.query(`SELECT pg_notify('lro_done', 'one')`);
    await notified;
    await Promise.all([listener.stop(), listener.stop()]);
  });

  it('a connection the server ends is replaced (retry until it listens), and says so with `connected`', async () => {
    const listener = new PgListener({ connectionString: url, applicationName: 'lro-listen-kill', log: silentLogger });
    onTestFinished(() => listener.stop());
    listener.on('error', () => {}); // the lost connection is reported here too
    await listener.start();
    const [pid] = await backends('lro-listen-kill');
    const reconnected = new Promise<void>((resolve) => listener.once('connected', resolve)); // (once() would reject on 'error')
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await reconnected;
    expect(await backends('lro-listen-kill')).not.toContain(pid);
    const notified = heard(listener, 'lro_queued', 'after');
    await admin.query(`SELECT pg_notify('lro_queued', 'after')`);
    await notified;
  });

  it('stop() right after a connection is lost ends the reconnect in flight', async () => {
    const listener = new PgListener({ connectionString: url, applicationName: 'lro-listen-stop', log: silentLogger });
    await listener.start();
    const [pid] = await backends('lro-listen-stop');
    const lost = new Promise<void>((resolve) => listener.once('error', () => resolve()));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await lost; // the reconnect starts now
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('stop() hung on the reconnect')), 5000);
    });
    await Promise.race([listener.stop(), hung]).finally(() => clearTimeout(timer));
  });

  it('runOnce() is one ping: a healthy connection is kept', async () => {
    const listener = new PgListener({ connectionString: url, applicationName: 'lro-listen-ping', pingMs: 60_000, log: silentLogger });
    onTestFinished(() => listener.stop());
    await listener.start();
    const [pid] = await backends('lro-listen-ping');
    let connects = 0;
    listener.on('connected', () => connects++);
    await listener.runOnce();
    await listener.runOnce();
    expect(connects).toBe(0);
    expect(await backends('lro-listen-ping')).toEqual([pid]);
  });

  it('stop() ends a listener that is still trying to connect, without waiting out the retries', async () => {
    const dead = Object.assign(new URL(url), { port: '1' }).toString(); // nothing listens on port 1
    const listener = new PgListener({ connectionString: dead, applicationName: 'lro-listen-dead', log: silentLogger });
    const errors: Error[] = [];
    listener.on('error', (err) => errors.push(err));
    await expect(listener.start()).rejects.toThrow(/ECONNREFUSED/);
    const retried = once(listener, 'error'); // a retry failed too: the loop is running
    await retried;
    const t0 = performance.now();
    await listener.stop();
    expect(performance.now() - t0).toBeLessThan(1000);
    const count = errors.length;
    await new Promise((r) => setImmediate(r));
    expect(errors.length).toBe(count);
  });
});
