import { Option, type Command } from 'commander';
import type { TreeEntry } from '../client/client.js';
import { InvalidInputError } from '../lro/errors.js';
import { formatBytes } from '../shared/progress.js';
import { snapshotArg, uuidArg } from './flags.js';
import { JSON_HELP, flagsOf, hubClient, hubOptions, print, printCreated, watchOp } from './hub-client.js';

type Opts = Record<string, unknown>;

/** `--to <project_id>:<path>` of a copy, as the kind's `dests` entry. */
function copyDest(text: string): { project_id: string; path: string } {
  const [id, path] = text.split(/:(.*)/s);
  if (!path) throw new InvalidInputError(`--to ${text}: give <project_id>:<path>, a folder or file inside that project`);
  return { project_id: uuidArg(id!, 'project', '--to'), path };
}

/** The project kinds' commands: the kind, what it does, its options and how they become its input (src/backup/*.ts). */
const KIND_COMMANDS: {
  name: string;
  kind: string;
  description: string;
  options?: (cmd: Command) => Command;
  input?: (o: Opts) => object;
}[] = [
  { name: 'backup', kind: 'project-backup', description: "back up the project's project/ and persist/ to its region's bucket" },
  {
    name: 'restore',
    kind: 'project-restore',
    description: 'restore a snapshot (the newest unless --snapshot) into the project, in place unless --target',
    options: (cmd) =>
      cmd
        .option('--snapshot <id>', 'the snapshot: its id or 8+ hex digits of it (lro projects backups lists them)')
        .option('--path <path>', 'only this folder or file inside the snapshot, e.g. project/src')
        .option('--target <folder>', 'restore into this folder inside the project, e.g. project/restored'),
    input: (o) => ({
      ...(o.snapshot ? { snapshot_id: o.snapshot } : {}),
      ...(o.path ? { path: o.path } : {}),
      ...(o.target ? { target: o.target } : {}),
    }),
  },
  {
    name: 'start',
    kind: 'project-start',
    description: 'start the project on its host, restoring its files first when they are missing (--restore)',
    options: (cmd) =>
      cmd.addOption(
        new Option('--restore <when>', 'auto: only when its files are missing; always; never')
          .choices(['auto', 'always', 'never'])
          .default('auto'),
      ),
    input: (o) => ({ restore: o.restore }),
  },
  { name: 'stop', kind: 'project-stop', description: 'stop the project and record when its files last changed' },
  {
    name: 'move',
    kind: 'project-move',
    description: 'move the project to another host: stop, back up if needed, place, start there (prints what does not move)',
    options: (cmd) => cmd.requiredOption('--to <host_id>', 'the destination host (its uuid)'),
    input: (o) => ({ dest_host_id: uuidArg(String(o.to), 'host', '--to') }),
  },
  {
    name: 'copy',
    kind: 'project-copy',
    description: 'copy folders or files of the project into other projects, or into itself',
    options: (cmd) =>
      cmd
        .requiredOption('--path <path...>', 'what to copy, inside this project (e.g. project/src)')
        .requiredOption('--to <project_id:path...>', 'where to, one or more <project_id>:<folder>; each path lands at <folder>/<its name>')
        .option('--error-on-exist', 'fail a destination where the path already exists (else a folder is merged into, like cp -r)')
        .option('--force', 'replace what already exists at a destination'),
    input: (o) => ({
      paths: o.path,
      dests: (o.to as string[]).map(copyDest),
      options: { ...(o.errorOnExist ? { error_on_exist: true } : {}), ...(o.force ? { force: true } : {}) },
    }),
  },
];

const mode = (e: TreeEntry) => (e.mode === null ? '' : e.mode.toString(8).padStart(4, '0'));
const bytes = (n: number | null) => (n === null ? '' : formatBytes(n));
const size = (e: TreeEntry) => (e.type === 'dir' ? '' : bytes(e.size));
const day = (t: string | null) => (t ? t.slice(0, 19).replace('T', ' ') : '');

/** `lro projects …`: the project kinds as commands, and a project's backups, through the hub. */
export function projectsCommands(program: Command): void {
  const projects = hubOptions(
    program
      .command('projects')
      .description('back up, restore, start, stop, move and copy projects, and browse their backups, through the hub (LRO_URL, LRO_TOKEN)'),
  );

  for (const spec of KIND_COMMANDS) {
    const cmd = projects.command(`${spec.name} <project_id>`).description(`${spec.description} (the ${spec.kind} op)`);
    (spec.options?.(cmd) ?? cmd)
      .option('--watch', "draw the op's progress bars until it ends; exit 0 succeeded, 3 failed/canceled/expired")
      .option('--json', `${JSON_HELP} (with --watch: it, then each event, a line of JSON each)`)
      .action(async (id: string, o: Opts) => {
        const f = flagsOf(projects, o);
        const c = hubClient(f);
        const scope = { type: 'project' as const, id: uuidArg(id, 'project') };
        const answer = await c.create({ kind: spec.kind, scope, input: spec.input?.(o) ?? {} });
        printCreated(answer, f.json, Boolean(o.watch));
        if (o.watch) await watchOp(c, answer.op.op_id, f.json);
      });
  }

  projects
    .command('list')
    .description('your projects (the admin: all), newest first, with their host and backup status; ids to give the other commands')
    .option('--title <text>', 'only projects whose title contains this')
    .option('--json', JSON_HELP)
    .action(async (o: { json?: boolean; title?: string }) => {
      const f = flagsOf(projects, o);
      const answer = await hubClient(f).projects(o.title);
      print(answer, f.json, () =>
        answer.projects.length
          ? answer.projects
              .map(
                (p) =>
                  `${p.project_id}  ${p.run_state.padEnd(8)} ${p.backup_state.padEnd(6)} ${(p.host_name ?? '-').padEnd(12)} ${p.title}`,
              )
              .join('\n')
          : '(no projects)',
      );
    });

  const hosts = hubOptions(
    program.command('hosts').description('the hosts you administer (the admin: all): where projects run and move to (projects move --to)'),
  );
  hosts.action(async () => {
    const f = flagsOf(hosts, {});
    const answer = await hubClient(f).hosts();
    print(answer, f.json, () =>
      answer.hosts.length
        ? answer.hosts.map((h) => `${h.host_id}  ${h.status.padEnd(13)} ${h.region.padEnd(12)} ${h.name}`).join('\n')
        : '(you administer no host)',
    );
  });

  projects
    .command('backups <project_id>')
    .description("the project's snapshots, newest first (lro projects ls browses one)")
    .option('--json', JSON_HELP)
    .action(async (id: string, o: Opts) => {
      const f = flagsOf(projects, o);
      const answer = await hubClient(f).backups(uuidArg(id, 'project'));
      print(answer, f.json, () =>
        answer.backups.length
          ? answer.backups
              .map((b) => `${b.snapshot_id.slice(0, 8)}  ${day(b.created_at)}  ${bytes(b.bytes).padStart(10)}  ${b.tags.join(',')}`)
              .join('\n')
          : '(no backups yet: lro projects backup <project_id> makes one)',
      );
    });

  projects
    .command('ls <project_id> <snapshot_id> [path]')
    .description('one folder of a snapshot (path inside it, e.g. project/src; default: its root), folders first')
    .option('--json', JSON_HELP)
    .action(async (id: string, snapshot: string, path: string | undefined, o: Opts) => {
      const f = flagsOf(projects, o);
      const answer = await hubClient(f).backupTree(uuidArg(id, 'project'), snapshotArg(snapshot), path ?? '');
      print(answer, f.json, () =>
        answer.entries.length
          ? answer.entries
              .map((e) => `${mode(e)}  ${size(e).padStart(10)}  ${day(e.mtime)}  ${e.name}${e.type === 'dir' ? '/' : ''}`)
              .join('\n')
          : '(empty folder)',
      );
    });
}
