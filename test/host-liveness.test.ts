import { describe, expect, it } from 'vitest';
import { HostLiveness } from '../src/domain/host-liveness.js';
import { HostStore } from '../src/domain/hosts.js';
import { ManualClock } from '../src/lro/clock.js';
import { createLogger } from '../src/lro/log.js';
import { openTestLro } from './helpers/lro.js';

const { lro } = await openTestLro();
const hosts = new HostStore({ db: lro.db });

/** A logger whose lines land in `lines`. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info', destination: { write: (line) => void lines.push(JSON.parse(line)) } });
  return { lines, log };
}

describe('HostLiveness', () => {
  it('start beats at once (running, last_seen = the clock), is idempotent; stop marks the host off, twice is fine', async () => {
    const host = await hosts.create({ name: 'h', region: 'local' });
    const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
    const { lines, log } = capture();
    const liveness = new HostLiveness({ hosts, hostId: host.host_id, clock, log, intervalMs: 3_600_000 });
    await liveness.start();
    await liveness.start();
    expect(liveness.running).toBe(true);
    expect(await hosts.get(host.host_id)).toMatchObject({ status: 'running', last_seen: new Date('2030-01-01T00:00:00Z') });
    clock.advance(10_000);
    await liveness.runOnce();
    expect((await hosts.get(host.host_id)).last_seen).toEqual(new Date('2030-01-01T00:00:10Z'));
    // Taken off meanwhile (host-off): its beats say it is alive, and leave it off.
    await hosts.setStatus(host.host_id, 'off');
    clock.advance(5_000);
    await liveness.runOnce();
    expect(await hosts.get(host.host_id)).toMatchObject({ status: 'off', last_seen: new Date('2030-01-01T00:00:15Z') });
    clock.advance(-5_000);
    await hosts.setStatus(host.host_id, 'running', { now: new Date('2030-01-01T00:00:10Z') });
    await liveness.stop();
    await liveness.stop();
    expect(await hosts.get(host.host_id)).toMatchObject({ status: 'off', last_seen: new Date('2030-01-01T00:00:10Z') });
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });

  it('a failed beat is logged at error with the host id, not swallowed; runOnce rejects', async () => {
    const host = await hosts.create({ name: 'gone', region: 'local' });
    await lro.db.query('DELETE FROM hosts WHERE host_id = $1', [host.host_id]);
    const { lines, log } = capture();
    const liveness = new HostLiveness({ hosts, hostId: host.host_id, log, intervalMs: 3_600_000 });
    await expect(liveness.runOnce()).rejects.toMatchObject({ code: 'not_found' });
    await liveness.start(); // its first beat fails: logged, and the service keeps running to try again
    expect(liveness.running).toBe(true);
    await liveness.stop();
    const errors = lines.filter((l) => l.level === 50);
    expect(errors.map((l) => l.msg)).toEqual(['host liveness: beat failed', 'host liveness: marking the host off failed']);
    expect(errors[0]).toMatchObject({ host_id: host.host_id, err: { message: `host ${host.host_id} not found` } });
  });
});
