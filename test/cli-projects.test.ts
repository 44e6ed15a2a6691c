import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_TIMEOUT, lroCliFor, outcome } from './helpers/cli.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openBackupLro, projectDir, writeProjectFiles } from './helpers/projects.js';

// `lro projects …` against a hub with two hosts on real restic: each kind's command, its bars, the
// move's warning, the backups and a snapshot's folders, and mistakes in the CLI's words.
const b = await openBackupLro();
const { lro } = b;
await lro.workerPool({ routing: ['hub'], ownerType: 'hub' }).start();
const h1 = await b.host('cli-from');
const h2 = await b.host('cli-to');
await h1.pool.start();
await h2.pool.start();
const { base } = await startHub(lro);

const cli = lroCliFor({ LRO_URL: base, LRO_TOKEN: ADMIN_TOKEN });
const lroCli = (args: string[]) => cli(['projects', ...args]);
const fails = (args: string[]) => outcome(lroCli(args));

describe('lro projects', () => {
  it(
    'start, backup, backups, ls, restore, stop, move (with its warning) and copy, each drawing its bars with --watch',
    async () => {
      const id = (await b.newProject(h1.host_id, 'cli thesis')).project_id;
      writeProjectFiles(projectDir(h1.dataDir, id));
      // The ids the other commands take, found as a person would: projects list and hosts.
      expect((await lroCli(['list', '--title', 'CLI THESIS'])).stdout).toMatch(
        new RegExp(`^${id} +stopped +none +cli-from +cli thesis$`, 'm'),
      );
      expect((await cli(['hosts'])).stdout).toMatch(new RegExp(`^${h2.host_id} +running +local +cli-to$`, 'm'));

      const started = await lroCli(['start', id, '--watch']);
      expect(started.stdout).toMatch(/^created [0-9a-f-]{36} {2}project-start +(queued|running) +project:/);
      expect(started.stdout).toMatch(/^\[succeeded\]$/m);
      const backup = await lroCli(['backup', id, '--watch']);
      expect(backup.stderr).toMatch(/ backup +\|.*\| 100% /); // the bars, from the ops watch path
      expect(backup.stdout).toMatch(/^\[succeeded\]$/m);

      const listed = (await lroCli(['backups', id])).stdout.trim().split('\n');
      expect(listed).toHaveLength(1);
      const snapshot = listed[0]!.split(/\s+/)[0]!;
      expect(snapshot).toMatch(/^[0-9a-f]{8}$/);
      expect(JSON.parse((await lroCli(['backups', id, '--json'])).stdout).backups).toEqual([
        expect.objectContaining({
          snapshot_id: expect.stringMatching(new RegExp(`^${snapshot}`)),
          tags: expect.arrayContaining(['layout=v2']),
        }),
      ]);
      const root = (await lroCli(['ls', id, snapshot])).stdout;
      expect(
        root
          .trim()
          .split('\n')
          .map((l) => l.split(/\s+/).at(-1)),
      ).toEqual(['persist/', 'project/']);
      const src = (await lroCli(['ls', id, snapshot, 'project/src'])).stdout.trim().split('\n');
      expect(src[0]).toMatch(/^0755 +\S+ \S+ {2}deep\/$/);
      expect(src.some((l) => /^0644 +1\.0 KiB +\S+ \S+ {2}f1\.bin$/.test(l))).toBe(true);
      const noFolder = await fails(['ls', id, snapshot, 'project/nope']);
      expect([noFolder.code, noFolder.stderr]).toEqual([1, expect.stringContaining('has no folder project/nope')]);

      await lroCli(['restore', id, '--snapshot', snapshot, '--path', 'project/src', '--target', 'project/restored', '--watch']);
      const restored = path.join(projectDir(h1.dataDir, id), 'project', 'restored');
      expect(existsSync(restored)).toBe(true);
      const wrong = await fails(['restore', id, '--snapshot', 'deadbeef', '--watch']);
      expect(wrong.code).toBe(3); // the op failed; the watch says so by its exit code
      expect(wrong.stdout).toMatch(/^\[failed: project \S+ has no snapshot deadbeef\]$/m);

      expect((await lroCli(['stop', id, '--watch'])).stdout).toMatch(/^\[succeeded\]$/m);
      // --json with --watch: the hub's create answer on one line (with the warning), then each event.
      const moved = (await lroCli(['move', id, '--to', h2.host_id, '--watch', '--json'])).stdout.trim().split('\n');
      const answer = JSON.parse(moved[0]!);
      expect(answer).toMatchObject({
        created: true,
        kind: 'project-move',
        warnings: [expect.stringContaining('only the backup history moves')],
      });
      expect(JSON.parse(moved.at(-1)!)).toMatchObject({ event: 'summary', data: { summary: { status: 'succeeded' } } });
      expect(await b.projects.get(id)).toMatchObject({ host_id: h2.host_id });
      const words = await lroCli(['move', id, '--to', h1.host_id]);
      expect(words.stderr).toMatch(/^warning: only the backup history moves/m);
      const backId = words.stdout.match(/^created ([0-9a-f-]{36}) /m)![1]!;
      expect((await lro.wait(backId, 120_000)).status).toBe('succeeded');
      // Moved there already (and no move under way): asking again is refused in words.
      const again = await fails(['move', id, '--to', h1.host_id]);
      expect([again.code, again.stderr.trim()]).toEqual([1, `lro: project ${id} is on host cli-from already: choose another host`]);

      await lroCli(['copy', id, '--path', 'project/run.sh', '--to', `${id}:project/copied`, '--watch']);
      const copied = path.join(projectDir(h1.dataDir, id), 'project', 'copied', 'run.sh');
      expect(readFileSync(copied, 'utf8')).toBe('#!/bin/sh\necho hi\n');
    },
    CLI_TIMEOUT,
  );

  it('says what is wrong in its own words, before anything is sent', async () => {
    const id = (await b.newProject(h1.host_id)).project_id;
    const cases: [string[], string][] = [
      [['backup', 'p1'], 'lro: "p1" is not a project id (a uuid)'],
      [['move', id, '--to', 'h2'], 'lro: --to "h2" is not a host id (a uuid)'],
      [['ls', id, 'xyz'], 'lro: "xyz" is not a snapshot id: give 8 to 64 of its hex digits (lro projects backups <project_id> lists them)'],
      [['copy', id, '--path', 'project/a', '--to', id], `lro: --to ${id}: give <project_id>:<path>, a folder or file inside that project`],
    ];
    for (const [args, message] of cases) {
      const err = await fails(args);
      expect({ args, code: err.code, stderr: err.stderr.trim() }).toEqual({ args, code: 2, stderr: message });
    }
    const choice = await fails(['start', id, '--restore', 'sometimes']);
    expect([choice.code, choice.stderr]).toEqual([2, expect.stringContaining('Allowed choices are auto, always, never')]);
  });
});
