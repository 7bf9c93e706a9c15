// pnpm bench: seeds databases, starts bare Koa (the baseline), Latchkey (SQLite with a small
// and a big number of keys, Postgres, the default configuration with its request log, 1 and 2
// workers), nginx and better-auth's API key plugin, each pinned to core 0 with the load
// generator on core 1, warms up, runs alternating rounds and writes the report: into a new
// temporary folder, or over docs/performance.* with --write-docs.
//   pnpm bench                      every row, report in a temporary folder
//   pnpm bench -- --write-docs      every row, report over docs/performance.*
//   pnpm bench -- --rows=hot-small,default-small   only these rows (and the baseline)
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
// The nginx runner and the configuration of docs/proxy.md, shared with the proxy test suite.
import {
  NGINX,
  plainProxyServer,
  proxyGuideConfig,
  type RunningNginx,
  startNginx,
  stopAllNginx,
} from '../../server/test/support/nginx.js';
import { hasTaskset, type LoadResult, pickGenerator, pinned, runLoad } from './load.js';
import {
  type BenchReport,
  countLabel,
  median,
  type ScenarioResult,
  summarise,
  writeReport,
} from './report.js';
import { BENCH_PASSWORD, BENCH_USER, seedPostgres, seedSqlite } from './seed.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
const SERVER_DIR = path.join(ROOT, 'packages/server');

const num = (name: string, fallback: number) => {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? fallback : Number(raw);
};
const OPTIONS = {
  rounds: num('BENCH_ROUNDS', 3),
  durationS: num('BENCH_DURATION_S', 8),
  warmupS: num('BENCH_WARMUP_S', 3),
  connections: num('BENCH_CONNECTIONS', 50),
  bigKeys: num('BENCH_BIG_KEYS', 1_000_000),
  smallKeys: num('BENCH_SMALL_KEYS', 1000),
  postgresKeys: num('BENCH_POSTGRES_KEYS', 100_000),
  betterAuthKeys: num('BENCH_BETTER_AUTH_KEYS', 1000),
};
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const args = process.argv.slice(2).filter((a) => a !== '--');
/** Over docs/performance.* only when asked; a trial run's report goes to a temporary folder. */
const WRITE_DOCS = args.includes('--write-docs') || process.env.BENCH_WRITE_DOCS === '1';
const rowsArg = args.find((a) => a.startsWith('--rows='))?.slice('--rows='.length) ?? process.env.BENCH_ROWS;
/** The rows asked for (every row when none is named); the baseline always runs. */
const ROWS = rowsArg
  ? new Set(
      rowsArg
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    )
  : undefined;
const wanted = (id: string) => id === 'baseline' || !ROWS || ROWS.has(id);
for (const a of args) {
  if (a !== '--write-docs' && !a.startsWith('--rows=')) {
    process.stderr.write(`[bench] unknown option ${a} (use --write-docs, --rows=id,id)\n`);
    process.exit(2);
  }
}

const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Running {
  name: string;
  url: string;
  child: ChildProcess;
}

const running: Running[] = [];

/** `ready` for a server that is up once GET /health answers 200. */
const HEALTH = 'GET /health';

let logFiles = 0;

async function start(
  name: string,
  core: number | string | undefined,
  args: string[],
  env: Record<string, string>,
  ready: string,
  logDir: string,
): Promise<Running> {
  const port = await freePort();
  const [cmd, full] = pinned(core, process.execPath, [...args.map((a) => a.replace('{port}', String(port)))]);
  // What a server prints goes to a file, as it would in production: a pipe read by this
  // process would make the runner's CPU part of the measurement of the request log.
  const logFile = path.join(logDir, `server-${++logFiles}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, full, {
    cwd: SERVER_DIR,
    env: { ...process.env, ...env, LATCHKEY_PORT: String(port) },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const printed = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited with ${child.exitCode ?? child.signalCode}:\n${printed().slice(-4000)}`,
      );
    }
    if (Date.now() > until) throw new Error(`${name} did not start:\n${printed().slice(-4000)}`);
    if (ready === HEALTH) {
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {
        // not listening yet
      }
    } else if (printed().includes(ready)) {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const server = { name, url, child };
  running.push(server);
  log(`${name} listening on ${server.url} (pid ${child.pid})`);
  return server;
}

async function stopAll(): Promise<void> {
  await Promise.all(
    running.map(
      (r) =>
        new Promise<void>((resolve) => {
          if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
          r.child.once('exit', () => resolve());
          r.child.kill('SIGTERM');
          setTimeout(() => r.child.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
}

/** A process and its descendants (the workers of `--workers N`), from /proc. */
function processTree(pid: number): number[] {
  const out = [pid];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter(Boolean)) out.push(...processTree(Number(child)));
  }
  return out;
}

/** Resident memory of a server process, with its workers when it has some, in MB. */
function rssMb(child: ChildProcess | undefined): number {
  if (!child?.pid) return Number.NaN;
  let kb = 0;
  for (const pid of processTree(child.pid)) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  }
  return Math.round((kb / 1024) * 10) / 10;
}

async function postgresReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

interface Scenario {
  id: string;
  label: string;
  /** Where the load goes; `child` is the process whose memory the row reports (none for nginx). */
  server: { url: string; child?: ChildProcess };
  /** Known when the row is declared, or once what it needs is seeded. */
  headers?: Record<string, string> | (() => Promise<Record<string, string>>);
  randomKeysFile?: string | (() => Promise<string>);
  /** Left out, saying so, when Postgres does not answer. */
  needsPostgres?: boolean;
  /** The path asked for; `GET /api/v1/auth/whoami` when left out. */
  path?: string;
  /** A JSON body to POST to `path`. */
  body?: string;
  keys: number;
  system: 'koa' | 'latchkey' | 'better-auth' | 'nginx';
}

/** A row of the report, and how to start what it measures (once, shared by the rows that use it). */
interface Row extends Omit<Scenario, 'server'> {
  server: () => Promise<{ url: string; child?: ChildProcess }>;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const generator = pickGenerator();
  const taskset = hasTaskset() && cpus().length >= 2;
  const serverCore = taskset ? 0 : undefined;
  const loadCore = taskset ? 1 : undefined;
  log(`load generator: ${generator}; pinning: ${taskset ? 'servers on core 0, load on core 1' : 'none'}`);
  log(`options: ${JSON.stringify(OPTIONS)}${ROWS ? `; rows: ${[...ROWS].join(', ')}` : ''}`);
  log(
    WRITE_DOCS
      ? 'the report goes over docs/performance.*'
      : 'trial run: the report goes to a temporary folder (--write-docs to write docs/performance.*)',
  );

  const work = mkdtempSync(path.join(tmpdir(), 'latchkey-bench-'));
  const schema = `lk_bench_${randomBytes(5).toString('hex')}`;
  const notes: string[] = [];
  const once = <T>(make: () => Promise<T>): (() => Promise<T>) => {
    let made: Promise<T> | undefined;
    return () => {
      made ??= make();
      return made;
    };
  };
  let pgProblem: string | undefined;
  let pgUsed = false;

  const common = {
    LATCHKEY_KEY_PEPPER: randomBytes(32).toString('hex'),
    LATCHKEY_JWT_SECRET: randomBytes(32).toString('hex'),
    LATCHKEY_LOG_LEVEL: 'warn',
    // High enough that the benchmark never meets a 429 (one hot key takes every request).
    LATCHKEY_RATE_LIMIT: '1000000',
    LATCHKEY_RATE_WINDOW_S: '1',
    LATCHKEY_HOST: '127.0.0.1',
  };
  const envFor = (name: string, extra: Record<string, string>) => {
    const dataDir = path.join(work, name);
    mkdirSync(dataDir, { recursive: true });
    return { ...common, LATCHKEY_DATA_DIR: dataDir, ...extra };
  };

  try {
    const smallFile = path.join(work, 'small.db');
    const bigFile = path.join(work, 'big.db');
    const envSmall = envFor('small', { LATCHKEY_DATABASE_URL: `sqlite:${smallFile}` });
    const envBig = envFor('big', { LATCHKEY_DATABASE_URL: `sqlite:${bigFile}` });
    const envPg = envFor('pg', { LATCHKEY_DATABASE_URL: POSTGRES_URL, LATCHKEY_DATABASE_SCHEMA: schema });
    const timed = async <T>(what: string, make: () => Promise<T>) => {
      const t = Date.now();
      const out = await make();
      log(`${what} in ${Date.now() - t} ms`);
      return out;
    };
    const small = await timed(`seeded SQLite with ${OPTIONS.smallKeys} keys`, () =>
      seedSqlite(envSmall, smallFile, OPTIONS.smallKeys, path.join(work, 'small-keys.txt')),
    );
    const big = once(() =>
      timed(`seeded SQLite with ${OPTIONS.bigKeys} keys`, () =>
        seedSqlite(envBig, bigFile, OPTIONS.bigKeys, path.join(work, 'big-keys.txt')),
      ),
    );
    const pgSeed = once(async () => {
      pgUsed = true;
      return timed(`seeded Postgres schema ${schema} with ${OPTIONS.postgresKeys} keys`, () =>
        seedPostgres(envPg, POSTGRES_URL, schema, OPTIONS.postgresKeys, path.join(work, 'pg-keys.txt')),
      );
    });
    const baFile = path.join(work, 'better-auth.db');
    const baKeys = path.join(work, 'better-auth-keys.txt');
    const betterAuthScript = path.join(HERE, 'servers/better-auth.ts');
    const seedBetterAuth = once(async () => {
      const t = Date.now();
      const seed = spawn(
        process.execPath,
        ['--import', 'tsx', betterAuthScript, 'seed', baFile, baKeys, String(OPTIONS.betterAuthKeys)],
        { cwd: HERE, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      seed.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      seed.stderr.on('data', (c: Buffer) => {
        out += c.toString();
      });
      const code = await new Promise<number | null>((resolve) => seed.once('exit', resolve));
      if (code !== 0) throw new Error(out.trim() || `exit ${code}`);
      log(`seeded better-auth with ${OPTIONS.betterAuthKeys} keys in ${Date.now() - t} ms`);
    });

    // Servers, each on the server core, started when a row asks for them.
    const tsx = ['--import', 'tsx'];
    // Latchkey as it ships: the bundle `pnpm bench` builds first (packages/server/dist).
    const main = path.join(SERVER_DIR, 'dist/main.js');
    const serve = (
      name: string,
      env: Record<string, string>,
      core: number | string | undefined = serverCore,
    ) => start(name, core, [main, 'serve'], env, HEALTH, work);
    const koa = once(() =>
      start(
        'bare Koa',
        serverCore,
        [...tsx, path.join(HERE, 'servers/bare-koa.ts'), '{port}'],
        {},
        'listening on',
        work,
      ),
    );
    const lkSmall = once(() => serve('Latchkey SQLite (small)', envSmall));
    // The default configuration, as `pnpm start` runs it: request log at info, one JSON line
    // per request (to a file here), everything else as shipped but the rate limit.
    const { LATCHKEY_LOG_LEVEL: _off, ...defaults } = envSmall;
    const lkDefault = once(() => serve('Latchkey SQLite (small), default configuration', defaults));
    const lkBig = once(async () => {
      await big();
      return serve('Latchkey SQLite (big)', envBig);
    });
    // The random-keys row gets a process of its own on the same file, so that each row's
    // resident memory is its own: what the keys cost with one key in use, and what a working
    // set of distinct keys adds (cache entries, buffered last use, the usage writer thread).
    const lkBigRandom = once(async () => {
      await big();
      return serve('Latchkey SQLite (big, random keys)', envBig);
    });
    const lkPg = once(async () => {
      await pgSeed();
      return serve('Latchkey Postgres', envPg);
    });
    // Workers: the server may use both cores, which it shares with the load generator.
    const bothCores = taskset ? '0,1' : undefined;
    const lkWorkers = (n: number) =>
      once(() =>
        serve(
          `Latchkey SQLite (small), ${n} worker${n > 1 ? 's' : ''}`,
          { ...envSmall, LATCHKEY_WORKERS: String(n) },
          bothCores,
        ),
      );
    const lkWorkers1 = lkWorkers(1);
    const lkWorkers2 = lkWorkers(2);
    const ba = once(async () => {
      await seedBetterAuth();
      return start(
        'better-auth',
        serverCore,
        [...tsx, betterAuthScript, 'serve', baFile, '{port}'],
        {},
        'listening on',
        work,
      );
    });
    // nginx in front of bare Koa, with and without auth_request to Latchkey (the
    // configuration of docs/proxy.md, keep-alive upstreams), side by side in the same rounds.
    const nginx = once(async (): Promise<RunningNginx> => {
      if (!NGINX) throw new Error('nginx was not found (apt-get install nginx-light)');
      const [app, latchkey] = await Promise.all([koa(), lkSmall()]);
      return startNginx({
        ports: 2,
        core: serverCore,
        http: ({ ports, dir }) =>
          [
            plainProxyServer({ listen: ports[0] as number, appServer: new URL(app.url).host }),
            proxyGuideConfig({
              listen: ports[1] as number,
              latchkey: new URL(latchkey.url).host,
              api: new URL(app.url).host,
              dir,
            }),
          ].join('\n'),
      });
    });

    const smallN = countLabel(small.count);
    const bigN = countLabel(OPTIONS.bigKeys);
    const pgN = countLabel(OPTIONS.postgresKeys);
    const jwt = once(async () => {
      const login = await fetch(`${(await lkSmall()).url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: BENCH_USER, password: BENCH_PASSWORD }),
      });
      if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
      return ((await login.json()) as { token: string }).token;
    });
    const basic = `Basic ${Buffer.from(`${BENCH_USER}:${BENCH_PASSWORD}`).toString('base64')}`;
    const hotKey = { 'X-API-Key': small.hotKey };

    const rows: Row[] = [
      { id: 'baseline', label: 'bare Koa (baseline)', server: koa, headers: hotKey, keys: 0, system: 'koa' },
      {
        id: 'hot-small',
        label: `X-API-Key, hot key, ${smallN} keys, request log off`,
        server: lkSmall,
        headers: hotKey,
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'default-small',
        label: `X-API-Key, hot key, ${smallN} keys, default configuration (request log on)`,
        server: lkDefault,
        headers: hotKey,
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'hot-big',
        label: `X-API-Key, hot key, ${bigN} keys`,
        server: lkBig,
        headers: async () => ({ 'X-API-Key': (await big()).hotKey }),
        keys: OPTIONS.bigKeys,
        system: 'latchkey',
      },
      {
        id: 'random-small',
        label: `X-API-Key, random keys over ${smallN}`,
        server: lkSmall,
        randomKeysFile: small.keysFile,
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'random-big',
        label: `X-API-Key, random keys over ${bigN}`,
        server: lkBigRandom,
        randomKeysFile: async () => (await big()).keysFile,
        keys: OPTIONS.bigKeys,
        system: 'latchkey',
      },
      {
        id: 'verify',
        label: `POST /api/v1/keys/verify, ${smallN} keys`,
        server: lkSmall,
        headers: hotKey,
        path: '/api/v1/keys/verify',
        body: JSON.stringify({ key: small.otherKey, permissions: [], method: 'GET' }),
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'jwt',
        label: 'Bearer JWT (login session)',
        server: lkSmall,
        headers: async () => ({ Authorization: `Bearer ${await jwt()}` }),
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'basic',
        label: 'Basic (username:password)',
        server: lkSmall,
        headers: { Authorization: basic },
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'workers-1',
        label: `X-API-Key, hot key, ${smallN} keys, 1 worker (cores 0-1, shared with the load generator)`,
        server: lkWorkers1,
        headers: hotKey,
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'workers-2',
        label: `X-API-Key, hot key, ${smallN} keys, 2 workers (cores 0-1, shared with the load generator)`,
        server: lkWorkers2,
        headers: hotKey,
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'pg-hot',
        label: 'Postgres: X-API-Key, hot key',
        server: lkPg,
        headers: async () => ({ 'X-API-Key': (await pgSeed()).hotKey }),
        keys: OPTIONS.postgresKeys,
        system: 'latchkey',
        needsPostgres: true,
      },
      {
        id: 'pg-random',
        label: `Postgres: random keys over ${pgN}`,
        server: lkPg,
        randomKeysFile: async () => (await pgSeed()).keysFile,
        keys: OPTIONS.postgresKeys,
        system: 'latchkey',
        needsPostgres: true,
      },
      {
        id: 'nginx-plain',
        label: 'nginx → bare Koa (no auth)',
        server: async () => ({ url: `http://127.0.0.1:${(await nginx()).ports[0]}` }),
        headers: hotKey,
        keys: 0,
        system: 'nginx',
      },
      {
        id: 'nginx-auth',
        label: `nginx auth_request → Latchkey (${smallN} keys), → bare Koa`,
        server: async () => ({ url: `http://127.0.0.1:${(await nginx()).ports[1]}` }),
        headers: hotKey,
        keys: small.count,
        system: 'nginx',
      },
      {
        id: 'better-auth-hot',
        label: `better-auth API key plugin, hot key, ${countLabel(OPTIONS.betterAuthKeys)} keys`,
        server: ba,
        headers: async () => ({ 'x-api-key': readFileSync(baKeys, 'utf8').split('\n')[0] ?? '' }),
        keys: OPTIONS.betterAuthKeys,
        system: 'better-auth',
      },
    ];
    if (ROWS) {
      const unknown = [...ROWS].filter((id) => !rows.some((r) => r.id === id));
      if (unknown.length)
        throw new Error(`unknown rows ${unknown.join(', ')}; rows: ${rows.map((r) => r.id).join(', ')}`);
    }
    if (rows.some((r) => wanted(r.id) && r.needsPostgres)) {
      pgProblem = await postgresReachable();
      if (pgProblem)
        notes.push(`Postgres at ${POSTGRES_URL} was not reachable (${pgProblem}): its rows are missing.`);
    }

    // Start what the wanted rows need; a row whose server cannot start is left out, saying why.
    const scenarios: Scenario[] = [];
    for (const row of rows) {
      if (!wanted(row.id)) continue;
      if (row.needsPostgres && pgProblem) continue;
      try {
        const server = await row.server();
        const headers = typeof row.headers === 'function' ? await row.headers() : row.headers;
        const randomKeysFile =
          typeof row.randomKeysFile === 'function' ? await row.randomKeysFile() : row.randomKeysFile;
        scenarios.push({
          ...row,
          server,
          ...(headers ? { headers } : {}),
          ...(randomKeysFile ? { randomKeysFile } : {}),
        } as Scenario);
      } catch (err) {
        if (row.id === 'baseline') throw err;
        const why = (err as Error).message.split('\n')[0];
        if (!notes.some((n) => n.includes(why ?? ''))) notes.push(`${row.label}: left out (${why}).`);
        log(`${row.label}: left out (${(err as Error).message})`);
      }
    }

    const load = (s: Scenario, durationS: number): Promise<LoadResult> =>
      runLoad(
        generator,
        {
          url: `${s.server.url}${s.path ?? '/api/v1/auth/whoami'}`,
          ...(s.body !== undefined ? { body: s.body } : {}),
          connections: OPTIONS.connections,
          durationS,
          ...(s.headers ? { headers: s.headers as Record<string, string> } : {}),
          ...(s.randomKeysFile ? { randomKeysFile: s.randomKeysFile as string } : {}),
          core: loadCore,
        },
        work,
      );
    const check = (s: Scenario, r: LoadResult) => {
      if (r.non2xx > 0 || r.requests === 0) {
        throw new Error(`${s.label}: ${r.non2xx} of ${r.requests} answers were not 2xx; the run fails.`);
      }
    };

    for (const s of scenarios) {
      const r = await load(s, OPTIONS.warmupS);
      check(s, r);
      log(`warm-up ${s.label}: ${Math.round(r.rps)} req/s`);
    }

    const results = new Map<string, ScenarioResult>(
      scenarios.map((s) => [s.id, { id: s.id, label: s.label, system: s.system, keys: s.keys, rounds: [] }]),
    );
    const others = scenarios.filter((s) => s.id !== 'baseline');
    const baseline = scenarios[0] as Scenario;
    for (let round = 0; round < OPTIONS.rounds; round++) {
      // Alternate the order so that no scenario always runs right after the baseline.
      const order = round % 2 === 0 ? others : [...others].reverse();
      const base = await load(baseline, OPTIONS.durationS);
      check(baseline, base);
      results.get('baseline')?.rounds.push({ ...base, ratio: 1, rssMb: rssMb(baseline.server.child) });
      log(`round ${round + 1}: baseline ${Math.round(base.rps)} req/s`);
      for (const s of order) {
        const r = await load(s, OPTIONS.durationS);
        check(s, r);
        const ratio = r.rps / base.rps;
        results.get(s.id)?.rounds.push({ ...r, ratio, rssMb: rssMb(s.server.child) });
        log(
          `round ${round + 1}: ${s.label}: ${Math.round(r.rps)} req/s, ${ratio.toFixed(3)} x, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`,
        );
      }
    }

    const report: BenchReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      generator,
      pinned: taskset,
      options: OPTIONS,
      notes,
      scenarios: [...results.values()].map(summarise),
    };
    const byId = new Map(report.scenarios.map((s) => [s.id, s]));
    const plain = byId.get('nginx-plain');
    const guarded = byId.get('nginx-auth');
    if (plain && guarded) {
      const perRound = guarded.rounds.map((r, i) => r.rps / (plain.rounds[i]?.rps ?? Number.NaN));
      notes.push(
        `nginx with auth_request to Latchkey answered ${median(perRound).toFixed(3)} × the requests of the same nginx without auth (median of per-round ratios, same rounds).`,
      );
    }
    const out = WRITE_DOCS
      ? path.join(ROOT, 'docs')
      : mkdtempSync(path.join(tmpdir(), 'latchkey-bench-report-'));
    writeReport(report, out, path.join(ROOT, 'docs/performance.md'));
  } finally {
    await stopAllNginx();
    await stopAll();
    if (pgUsed) {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`).catch(() => {});
      await client.end();
    }
    rmSync(work, { recursive: true, force: true });
  }
}

process.once('SIGINT', () => {
  void Promise.all([stopAllNginx(), stopAll()]).then(() => process.exit(130));
});

main().catch(async (err) => {
  process.stderr.write(`[bench] failed: ${(err as Error).message}\n`);
  await stopAllNginx();
  await stopAll();
  process.exit(1);
});
