// What a downstream team installs: @latchkey/core, @latchkey/client and @latchkey/mock are
// packed with `pnpm pack` (each one's prepack builds dist/), installed with npm into a scratch
// project outside the repository, and used there with plain Node, vitest, the latchkey-mock
// command and a browser bundle.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PACKAGES = ['core', 'client', 'mock'] as const;
type PackageName = (typeof PACKAGES)[number];

const work = mkdtempSync(path.join(tmpdir(), 'latchkey-pack-'));
const tarballs = path.join(work, 'tarballs');
const project = path.join(work, 'project');

interface Manifest {
  name: string;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, unknown>;
  publishConfig?: { exports?: Record<string, unknown> };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const repoManifest = (name: PackageName) =>
  readJson<Manifest>(path.join(repo, 'packages', name, 'package.json'));
const installedDir = (name: PackageName) => path.join(project, 'node_modules', '@latchkey', name);
const installedManifest = (name: PackageName) =>
  readJson<Manifest>(path.join(installedDir(name), 'package.json'));

/**
 * The environment of a command run outside the repository: none of the settings pnpm and
 * vitest pass to their children (npm would take `npm_config_local_prefix` for its project).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const kept = /^npm_config_(cache|registry|cafile|proxy|https_proxy|noproxy|strict_ssl|userconfig)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => kept.test(name) || !/^(npm_|pnpm_|VITEST|TEST$|NODE_OPTIONS$)/i.test(name),
    ),
  );
}

interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command; a failure throws with the command line, its exit status and its output. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      reject(
        new Error(
          `\`${[command, ...args].join(' ')}\` in ${options.cwd} ended with ${signal ?? `exit status ${code}`}\n` +
            `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
        ),
      );
    });
  });
}

/** pnpm as the test command runs it; else the version the README names, through npx. */
function pnpm(): [string, string[]] {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(path.basename(execPath))) {
    return /\.[cm]?js$/.test(execPath) ? [process.execPath, [execPath]] : [execPath, []];
  }
  return ['npx', ['--yes', 'pnpm@12.21.0']];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

/** Every string in an `exports` map, `main`, `types` and `bin`: the files a resolver may load. */
function entryTargets(manifest: Manifest): string[] {
  const strings = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value]
      : value && typeof value === 'object'
        ? Object.values(value).flatMap(strings)
        : [];
  return [
    ...strings(manifest.exports),
    ...strings(manifest.main),
    ...strings(manifest.types),
    ...strings(manifest.bin),
  ];
}

/** The packages that the built JavaScript of an installed package imports (Node's own excluded). */
async function importedPackages(dir: string, manifest: Manifest): Promise<string[]> {
  const entryPoints = filesUnder(dir)
    .filter((file) => /\.m?js$/.test(file) && !file.startsWith('node_modules'))
    .map((file) => path.join(dir, file));
  const result = await build({
    entryPoints,
    bundle: true,
    write: false,
    outdir: path.join(work, 'analysis'),
    platform: 'node',
    format: 'esm',
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
  });
  const names = new Set<string>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external || isBuiltin(imported.path)) continue;
      const parts = imported.path.split('/');
      const name = imported.path.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
      if (name !== manifest.name) names.add(name);
    }
  }
  return [...names].sort();
}

// What the scratch project installs besides the tarballs, at the versions this repository tests with.
function toolVersions(): string[] {
  const { dependencies, devDependencies } = repoManifest('mock');
  const dev = { ...dependencies, ...devDependencies };
  return ['msw', 'vitest', 'esbuild', 'typescript'].map((name) => {
    const range = dev[name];
    if (!range) throw new Error(`packages/mock/package.json has no devDependency ${name}`);
    return `${name}@${range}`;
  });
}

const SEED_PASSWORD = 'downstream-password-1';
const SEED = `{ users: [{ username: 'alice', password: '${SEED_PASSWORD}', is_superuser: true }] }`;

// login → createKey → whoami through the SDK against the msw mock, then the key checked by the
// guard; prints what whoami and the guard say.
const NODE_FLOW = `import { createLatchkeyClient } from '@latchkey/client';
import { createGuard } from '@latchkey/client/guard';
import { setupLatchkeyServer } from '@latchkey/mock/node';

const baseUrl = 'http://latchkey.test';
const { server } = setupLatchkeyServer({ baseUrl, seed: ${SEED} });
server.listen({ onUnhandledRequest: 'error' });
try {
  const anonymous = createLatchkeyClient({ baseUrl });
  const { data: login } = await anonymous.login({ body: { username: 'alice', password: '${SEED_PASSWORD}' } });
  const admin = createLatchkeyClient({ baseUrl, credentials: { bearer: login.token } });
  const { data: key } = await admin.createKey({ body: { name: 'from-node' } });
  const script = createLatchkeyClient({ baseUrl, credentials: { apiKey: key.key } });
  const { data: me } = await script.whoami();
  // A service in front of Latchkey checks the same key with the guard (alice may verify keys).
  const guard = createGuard({ baseUrl, credentials: { bearer: login.token } });
  const verdict = await guard.check(new Request('http://service.test/x', { headers: { 'X-API-Key': key.key } }));
  console.log(JSON.stringify({ user: me.user.username, method: me.auth.method, key: me.auth.token_id === key.id, guard: verdict.code }));
} finally {
  server.close();
}
`;

const VITEST_FLOW = `import { createLatchkeyClient, type RateLimitEvent } from '@latchkey/client';
import { setupLatchkeyServer } from '@latchkey/mock/node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';

const { server, mock } = setupLatchkeyServer({ baseUrl: 'http://latchkey.test', seed: ${SEED} });
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  mock.reset();
});
afterAll(() => server.close());

it('logs in, creates a key and is that key', async () => {
  const events: RateLimitEvent[] = [];
  const anonymous = createLatchkeyClient({ baseUrl: mock.baseUrl });
  const { data: login } = await anonymous.login({ body: { username: 'alice', password: '${SEED_PASSWORD}' } });
  const admin = createLatchkeyClient({ baseUrl: mock.baseUrl, credentials: { bearer: login.token } });
  const { data: key } = await admin.createKey({ body: { name: 'from-vitest' } });
  const script = createLatchkeyClient({
    baseUrl: mock.baseUrl,
    credentials: { apiKey: key.key },
    onRateLimit: (event) => events.push(event),
  });
  const { data: me } = await script.whoami();
  expect([me.user.username, me.auth.token_id]).toEqual(['alice', key.id]);
  expect(events).toEqual([]);
});

it('has real types, not any', () => {
  // @ts-expect-error: createKey needs a body
  void (() => createLatchkeyClient({ baseUrl: mock.baseUrl }).createKey());
  // @ts-expect-error: a seeded user needs a username
  void (() => setupLatchkeyServer({ baseUrl: mock.baseUrl, seed: { users: [{}] } }));
});
`;

const BROWSER_APP = `import { createLatchkeyClient } from '@latchkey/client';
import { setupLatchkeyWorker } from '@latchkey/mock/browser';

const { worker } = setupLatchkeyWorker({ baseUrl: location.origin, seed: ${SEED} });
await worker.start({ onUnhandledRequest: 'bypass' });
const client = createLatchkeyClient({
  baseUrl: location.origin,
  credentials: { login: { username: 'alice', password: '${SEED_PASSWORD}' } },
});
document.body.textContent = (await client.whoami()).data.user.username;
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2023',
    lib: ['ES2023', 'DOM'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  },
  include: ['*.ts'],
};

beforeAll(async () => {
  mkdirSync(tarballs);
  mkdirSync(project);
  // As the packages' READMEs say; pnpm runs each one's prepack (the build) in the repository.
  const [pnpmCommand, pnpmArgs] = pnpm();
  const filters = PACKAGES.flatMap((name) => ['--filter', `@latchkey/${name}`]);
  await run(pnpmCommand, [...pnpmArgs, ...filters, 'pack', '--pack-destination', tarballs], {
    cwd: repo,
    timeoutMs: 300_000,
  });
  const packed = readdirSync(tarballs);
  const tarball = (name: PackageName) => {
    const file = packed.find((f) => f.startsWith(`latchkey-${name}-`) && f.endsWith('.tgz'));
    if (!file) throw new Error(`no tarball for @latchkey/${name} among ${packed.join(', ')}`);
    return path.join(tarballs, file);
  };
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'latchkey-downstream', private: true, type: 'module' }, null, 2),
  );
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...PACKAGES.map(tarball), ...toolVersions()],
    { cwd: project, timeoutMs: 300_000 },
  );
}, 900_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

// Generous: each step starts processes while the other test files keep two cores busy.
describe('the packed packages, installed with npm outside the repository', { timeout: 180_000 }, () => {
  it('is a scratch project outside the repository', () => {
    expect(path.relative(repo, project).startsWith('..')).toBe(true);
  });

  it.each(PACKAGES)(
    '@latchkey/%s ships built JavaScript, type declarations, its README and nothing else',
    (name) => {
      const manifest = installedManifest(name);
      const files = filesUnder(installedDir(name));
      expect(files).toContain('package.json');
      expect(files).toContain('README.md');
      expect(
        files.filter((f) => !/^(dist|bin)\//.test(f) && !['package.json', 'README.md'].includes(f)),
      ).toEqual([]);
      expect(files.filter((f) => /\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f))).toEqual([]);
      expect(files.filter((f) => /\.test\.|tsbuildinfo|(^|\/)test-build-/.test(f))).toEqual([]);
      expect(Object.keys(manifest.exports ?? {})).toEqual(Object.keys(repoManifest(name).exports ?? {}));
      const targets = entryTargets(manifest);
      expect(targets.length).toBeGreaterThan(0);
      for (const target of targets) {
        expect(target, `${name}: ${target}`).not.toMatch(/(?<!\.d)\.[cm]?ts$/);
        expect(files, `${name}: ${target}`).toContain(path.normalize(target));
      }
      expect(JSON.stringify(manifest)).not.toContain('workspace:');
    },
  );

  it.each(PACKAGES)('@latchkey/%s depends on exactly what its built code imports', async (name) => {
    const manifest = installedManifest(name);
    const declared = [
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ].sort();
    expect(declared).toEqual(await importedPackages(installedDir(name), manifest));
    expect(declared).not.toContain('tsx');
  });

  it('@latchkey/mock leaves msw to the project (a peer dependency)', () => {
    const manifest = installedManifest('mock');
    expect(Object.keys(manifest.peerDependencies ?? {})).toEqual(['msw']);
    expect(Object.keys(manifest.dependencies ?? {})).not.toContain('msw');
  });

  it('runs a login → createKey → whoami flow against the mock in plain Node', async () => {
    writeFileSync(path.join(project, 'flow.mjs'), NODE_FLOW);
    const { stdout } = await run(process.execPath, ['flow.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      user: 'alice',
      method: 'HeaderTokenAuth',
      key: true,
      guard: 'VALID',
    });
  });

  it("runs the same flow in the project's own vitest, and type-checks it", async () => {
    writeFileSync(path.join(project, 'flow.test.ts'), VITEST_FLOW);
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    const bin = (name: string) => path.join(project, 'node_modules', '.bin', name);
    const { stdout } = await run(bin('vitest'), ['run', '--reporter=verbose', 'flow.test.ts'], {
      cwd: project,
    });
    expect(stdout).toMatch(/2 passed/);
    await run(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: project });
  });

  it('serves the mock over HTTP with the latchkey-mock command', async () => {
    const port = await freePort();
    const bin = path.join(project, 'node_modules', '.bin', 'latchkey-mock');
    const child = spawn(bin, ['--port', String(port), '--host', '127.0.0.1'], {
      cwd: project,
      env: cleanEnv(),
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const health = await poll(`http://127.0.0.1:${port}/health`, child, () => output);
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok', database: 'ok' }]);
      const status = await fetch(`http://127.0.0.1:${port}/api/v1/auth/bootstrap-status`);
      expect(status.status).toBe(200);
      expect(await status.json()).toMatchObject({ needs_bootstrap: true });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, output).toBe(0);
  });

  it('bundles the SDK and @latchkey/mock/browser for browsers with esbuild', async () => {
    writeFileSync(path.join(project, 'app.mjs'), BROWSER_APP);
    const esbuild = path.join(project, 'node_modules', '.bin', 'esbuild');
    const { stderr } = await run(
      esbuild,
      ['app.mjs', '--bundle', '--platform=browser', '--format=esm', '--outfile=public/app.js'],
      { cwd: project },
    );
    expect(stderr).not.toMatch(/\[ERROR\]/);
    const bundle = readFileSync(path.join(project, 'public', 'app.js'), 'utf8');
    expect(bundle).toContain('/api/v1/auth/whoami');
    expect(bundle).not.toMatch(/from\s*["']node:/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/** GETs `url` until it answers; fails with the command's output when it exits or never answers. */
async function poll(url: string, child: ChildProcess, output: () => string): Promise<Response> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`latchkey-mock exited with ${child.exitCode}:\n${output()}`);
    try {
      return await fetch(url);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`latchkey-mock did not answer at ${url} within 60 s:\n${output()}`);
}
