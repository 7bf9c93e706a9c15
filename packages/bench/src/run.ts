// pnpm bench: seeds databases, starts bare Koa (the baseline), Latchkey (SQLite with 1 k and
// 1 M keys, and Postgres) and better-auth's API key plugin, each pinned to core 0 with the
// load generator on core 1, warms up, runs alternating rounds and writes docs/performance.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { hasTaskset, type LoadResult, pickGenerator, pinned, runLoad } from './load.js';
import { type BenchReport, type ScenarioResult, summarise, writeReport } from './report.js';
import { BENCH_PASSWORD, BENCH_USER, type Seeded, seedPostgres, seedSqlite } from './seed.js';

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

async function start(
  name: string,
  core: number | undefined,
  args: string[],
  env: Record<string, string>,
  ready: string,
): Promise<Running> {
  const port = await freePort();
  const [cmd, full] = pinned(core, process.execPath, [...args.map((a) => a.replace('{port}', String(port)))]);
  const child = spawn(cmd, full, {
    cwd: SERVER_DIR,
    env: { ...process.env, ...env, LATCHKEY_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 60_000);
    const watch = (c: Buffer) => {
      output += c.toString();
      if (ready !== HEALTH && output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', watch);
    child.stderr?.on('data', watch);
    if (ready === HEALTH) {
      // Latchkey's banner is an info line, and the benchmark logs warnings only.
      const poll = async () => {
        while (child.exitCode === null) {
          try {
            if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) {
              clearTimeout(timer);
              return resolve();
            }
          } catch {
            // not listening yet
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      void poll();
    }
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output}`));
    });
  });
  const server = { name, url: `http://127.0.0.1:${port}`, child };
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

/** Resident memory of a server process, in MB. */
function rssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
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
  server: Running;
  headers?: Record<string, string>;
  randomKeysFile?: string;
  /** The path asked for; `GET /api/v1/auth/whoami` when left out. */
  path?: string;
  /** A JSON body to POST to `path`. */
  body?: string;
  keys: number;
  system: 'koa' | 'latchkey' | 'better-auth';
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const generator = pickGenerator();
  const taskset = hasTaskset() && cpus().length >= 2;
  const serverCore = taskset ? 0 : undefined;
  const loadCore = taskset ? 1 : undefined;
  log(`load generator: ${generator}; pinning: ${taskset ? 'servers on core 0, load on core 1' : 'none'}`);
  log(`options: ${JSON.stringify(OPTIONS)}`);

  const work = mkdtempSync(path.join(tmpdir(), 'latchkey-bench-'));
  const schema = `lk_bench_${randomBytes(5).toString('hex')}`;
  const pgProblem = await postgresReachable();
  const notes: string[] = [];
  if (pgProblem)
    notes.push(`Postgres at ${POSTGRES_URL} was not reachable (${pgProblem}): its rows are missing.`);

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
    // Seeding
    let t = Date.now();
    const smallFile = path.join(work, 'small.db');
    const bigFile = path.join(work, 'big.db');
    const envSmall = envFor('small', { LATCHKEY_DATABASE_URL: `sqlite:${smallFile}` });
    const envBig = envFor('big', { LATCHKEY_DATABASE_URL: `sqlite:${bigFile}` });
    const envPg = envFor('pg', { LATCHKEY_DATABASE_URL: POSTGRES_URL, LATCHKEY_DATABASE_SCHEMA: schema });
    const small = await seedSqlite(envSmall, smallFile, OPTIONS.smallKeys, path.join(work, 'small-keys.txt'));
    log(`seeded SQLite with ${OPTIONS.smallKeys} keys in ${Date.now() - t} ms`);
    t = Date.now();
    const big = await seedSqlite(envBig, bigFile, OPTIONS.bigKeys, path.join(work, 'big-keys.txt'));
    log(`seeded SQLite with ${OPTIONS.bigKeys} keys in ${Date.now() - t} ms`);
    let pgSeed: Seeded | undefined;
    if (!pgProblem) {
      t = Date.now();
      pgSeed = await seedPostgres(
        envPg,
        POSTGRES_URL,
        schema,
        OPTIONS.postgresKeys,
        path.join(work, 'pg-keys.txt'),
      );
      log(`seeded Postgres schema ${schema} with ${OPTIONS.postgresKeys} keys in ${Date.now() - t} ms`);
    }
    t = Date.now();
    const baFile = path.join(work, 'better-auth.db');
    const baKeys = path.join(work, 'better-auth-keys.txt');
    const betterAuthScript = path.join(HERE, 'servers/better-auth.ts');
    let betterAuthError: string | undefined;
    try {
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
    } catch (err) {
      betterAuthError = (err as Error).message;
      notes.push(`better-auth could not be seeded: ${betterAuthError}`);
      log(`better-auth failed: ${betterAuthError}`);
    }

    // Servers, each on the server core.
    const tsx = ['--import', 'tsx'];
    const koa = await start(
      'bare Koa',
      serverCore,
      [...tsx, path.join(HERE, 'servers/bare-koa.ts'), '{port}'],
      {},
      'listening on',
    );
    // Latchkey as it ships: the bundle `pnpm bench` builds first (packages/server/dist).
    const main = path.join(SERVER_DIR, 'dist/main.js');
    const lkSmall = await start('Latchkey SQLite 1k', serverCore, [main, 'serve'], envSmall, HEALTH);
    const lkBig = await start('Latchkey SQLite 1M', serverCore, [main, 'serve'], envBig, HEALTH);
    // The random-keys row gets a process of its own on the same file, so that each row's
    // resident memory is its own: what 1 M keys cost with one key in use, and what a working
    // set of distinct keys adds (cache entries, buffered last use, the usage writer thread).
    const lkBigRandom = await start(
      'Latchkey SQLite 1M (random keys)',
      serverCore,
      [main, 'serve'],
      envBig,
      HEALTH,
    );
    const lkPg = pgSeed
      ? await start('Latchkey Postgres', serverCore, [main, 'serve'], envPg, HEALTH)
      : undefined;
    const ba = betterAuthError
      ? undefined
      : await start(
          'better-auth',
          serverCore,
          [...tsx, betterAuthScript, 'serve', baFile, '{port}'],
          {},
          'listening on',
        );

    // A login JWT for the Bearer runs.
    const login = await fetch(`${lkSmall.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: BENCH_USER, password: BENCH_PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
    const jwt = ((await login.json()) as { token: string }).token;
    const basic = `Basic ${Buffer.from(`${BENCH_USER}:${BENCH_PASSWORD}`).toString('base64')}`;
    const baHot = ba ? (readFileSync(baKeys, 'utf8').split('\n')[0] ?? '') : '';

    const scenarios: Scenario[] = [
      {
        id: 'baseline',
        label: 'bare Koa (baseline)',
        server: koa,
        headers: { 'X-API-Key': small.hotKey },
        keys: 0,
        system: 'koa',
      },
      {
        id: 'hot-1k',
        label: 'X-API-Key, hot key, 1 k keys',
        server: lkSmall,
        headers: { 'X-API-Key': small.hotKey },
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'hot-1m',
        label: 'X-API-Key, hot key, 1 M keys',
        server: lkBig,
        headers: { 'X-API-Key': big.hotKey },
        keys: big.count,
        system: 'latchkey',
      },
      {
        id: 'random-1k',
        label: 'X-API-Key, random keys over 1 k',
        server: lkSmall,
        randomKeysFile: small.keysFile,
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'random-1m',
        label: 'X-API-Key, random keys over 1 M',
        server: lkBigRandom,
        randomKeysFile: big.keysFile,
        keys: big.count,
        system: 'latchkey',
      },
      {
        id: 'verify',
        label: 'POST /api/v1/keys/verify, 1 k keys',
        server: lkSmall,
        headers: { 'X-API-Key': small.hotKey },
        path: '/api/v1/keys/verify',
        body: JSON.stringify({ key: small.otherKey, permissions: [], method: 'GET' }),
        keys: small.count,
        system: 'latchkey',
      },
      {
        id: 'jwt',
        label: 'Bearer JWT (login session)',
        server: lkSmall,
        headers: { Authorization: `Bearer ${jwt}` },
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
    ];
    if (lkPg && pgSeed) {
      scenarios.push(
        {
          id: 'pg-hot',
          label: 'Postgres: X-API-Key, hot key',
          server: lkPg,
          headers: { 'X-API-Key': pgSeed.hotKey },
          keys: pgSeed.count,
          system: 'latchkey',
        },
        {
          id: 'pg-random',
          label: `Postgres: random keys over ${pgSeed.count / 1000} k`,
          server: lkPg,
          randomKeysFile: pgSeed.keysFile,
          keys: pgSeed.count,
          system: 'latchkey',
        },
      );
    }
    if (ba) {
      scenarios.push({
        id: 'better-auth-hot',
        label: 'better-auth API key plugin, hot key',
        server: ba,
        headers: { 'x-api-key': baHot },
        keys: OPTIONS.betterAuthKeys,
        system: 'better-auth',
      });
    }

    const load = (s: Scenario, durationS: number): Promise<LoadResult> =>
      runLoad(
        generator,
        {
          url: `${s.server.url}${s.path ?? '/api/v1/auth/whoami'}`,
          ...(s.body !== undefined ? { body: s.body } : {}),
          connections: OPTIONS.connections,
          durationS,
          ...(s.headers ? { headers: s.headers } : {}),
          ...(s.randomKeysFile ? { randomKeysFile: s.randomKeysFile } : {}),
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
    writeReport(report, ROOT);
  } finally {
    await stopAll();
    if (!pgProblem) {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`).catch(() => {});
      await client.end();
    }
    rmSync(work, { recursive: true, force: true });
  }
}

process.once('SIGINT', () => {
  void stopAll().then(() => process.exit(130));
});

main().catch(async (err) => {
  process.stderr.write(`[bench] failed: ${(err as Error).message}\n`);
  await stopAll();
  process.exit(1);
});
