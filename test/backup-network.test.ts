import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Restic } from '../src/backup/restic.js';
import { streamOf } from '../src/lro/streams/types.js';
import type { StreamItem } from '../src/lro/streams/index.js';
import { openBackupLro, projectDir, treeOf, writeProjectFiles } from './helpers/projects.js';
import { startRestServer } from './helpers/rest-server.js';

// A bucket behind a real network backend: `rclone serve restic` on loopback.
const b = await openBackupLro();
const h = await b.host('net-host');

describe('a network bucket', () => {
  it('backs up and restores; killed mid-backup and back, the backup still succeeds and restic check passes', async () => {
    const server = await startRestServer();
    await b.lro.db.query(`INSERT INTO backup_regions (region, name, lat, lon, repository) VALUES ('net', 'REST', 0, 0, $1)`, [
      server.url('net'),
    ]);
    await h.pool.start();
    try {
      const project = await b.projects.create({ title: 'n', created_by: b.owner.account_id, host_id: h.host_id, backup_region: 'net' });
      const dir = projectDir(h.dataDir, project.project_id);
      writeProjectFiles(dir);
      mkdirSync(path.join(dir, 'project', 'data'), { recursive: true });
      for (let i = 0; i < 40; i++) writeFileSync(path.join(dir, 'project', 'data', `chunk${i}.bin`), randomBytes(1024 * 1024));
      const { op } = await b.lro.store.create(b.projectOp('project-backup', project.project_id));
      // The first bytes on the op's stream: restic is sending data. Then the server dies for 2 s.
      for await (const item of b.lro.streams.read(streamOf(op)) as AsyncGenerator<StreamItem>) {
        if (item.type === 'progress' && item.phase === 'backup' && item.progress !== undefined) break;
      }
      await server.stop();
      expect((await b.lro.store.get(op.op_id)).status).toBe('running'); // killed mid-backup
      await delay(2000); // the outage itself, not a wait for an event
      await server.start();
      const done = await b.lro.wait(op.op_id, 120_000);
      expect(done).toMatchObject({ status: 'succeeded' });
      const bucket = { repository: server.url('net'), passwordFile: b.passwordFile };
      await new Restic().run(bucket, ['check']);
      // And back: lost locally, restored from the network bucket.
      const before = treeOf(dir);
      rmSync(dir, { recursive: true });
      expect(await b.run('project-start', project.project_id)).toMatchObject({ status: 'succeeded', result: { restored: true } });
      expect(treeOf(dir)).toEqual(before);
    } finally {
      await h.pool.stop();
      await server.stop();
    }
  });
});
