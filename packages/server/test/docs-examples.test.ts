import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from './support/free-port.js';
import { PASSWORD, startTestServer, type TestServer } from './support/test-server.js';

/**
 * Every ```sh block of docs/ that calls curl is run by bash against a real server started for
 * that block, and every curl in it must answer 2xx, or the status written in a comment right
 * after it (`# 409 …`). The guides' URL, http://127.0.0.1:8800, is rewritten to the test
 * server's. A block preceded by `<!-- docs-test: empty-server -->` runs against a server with
 * no user (the bootstrap examples); one preceded by `<!-- docs-test: env LATCHKEY_X=value … -->`
 * against a server with those settings.
 *
 * A service protected by Latchkey: a ```ts block preceded by `<!-- docs-test: app NAME -->` is
 * a program of that page (it serves on `PORT`, asks Latchkey at `LATCHKEY_URL` with the
 * verifier key `LATCHKEY_VERIFIER_KEY`). A curl block preceded by
 * `<!-- docs-test: upstream NAME … -->` runs once per app named, each started for it with tsx
 * from the client package (so that it imports `@latchkey/client/guard` and the frameworks of
 * the client's tests), and the service's URL in the guides, http://127.0.0.1:9000, is rewritten
 * to the app's. Every block but the empty-server ones gets a superuser `admin` and:
 */
interface ExampleEnv {
  /** admin's password */
  PASSWORD: string;
  /** an API key of admin */
  KEY: string;
  /** the id of that key */
  KEY_ID: string;
  /** a login JWT of admin */
  JWT: string;
  /** admin's user id */
  USER_ID: string;
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLIENT_DIR = path.join(REPO_ROOT, 'packages', 'client');
const GUIDE_URL = 'http://127.0.0.1:8800';
const SERVICE_URL = 'http://127.0.0.1:9000';

interface Example {
  file: string;
  line: number;
  code: string;
  emptyServer: boolean;
  /** Why the block is not run, from `<!-- docs-test: not-run: <reason> -->`. */
  notRun: string | undefined;
  /** Server settings, from `<!-- docs-test: env LATCHKEY_X=value ... -->`. */
  serverEnv: Record<string, string>;
  /** The app the block calls at SERVICE_URL, from `<!-- docs-test: upstream NAME … -->`. */
  app: App | undefined;
}

/** A program of a page that a curl block calls, from `<!-- docs-test: app NAME -->`. */
interface App {
  name: string;
  line: number;
  code: string;
}

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...markdownFiles(full));
    else if (entry.endsWith('.md')) out.push(path.relative(REPO_ROOT, full));
  }
  return out.sort();
}

/**
 * The ```sh blocks that call curl, with the instruction comment before each; a block that calls
 * apps is listed once per app.
 */
function curlExamples(file: string, markdown: string): Example[] {
  const lines = markdown.split('\n');
  const examples: Example[] = [];
  const apps = new Map<string, App>();
  const upstreams: { example: Example; names: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1] ?? '';
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? '')) {
      const line = lines[j] ?? '';
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
      j++;
    }
    let k = i - 1;
    while (k >= 0 && (lines[k] ?? '').trim() === '') k--;
    const instruction = /^\s*<!--\s*docs-test:\s*(.+?)\s*-->\s*$/.exec(lines[k] ?? '')?.[1];
    const code = body.join('\n');
    const appName = /^app\s+([a-z0-9-]+)$/.exec(instruction ?? '')?.[1];
    if (appName) {
      if (!['ts', 'typescript'].includes(open[2] ?? ''))
        throw new Error(`${file}:${i + 1}: an app is a \`\`\`ts block`);
      if (apps.has(appName)) throw new Error(`${file}:${i + 1}: a second app named ${appName}`);
      apps.set(appName, { name: appName, line: i + 1, code });
    } else if (['sh', 'bash', 'shell'].includes(open[2] ?? '') && /\bcurl\b/.test(code)) {
      const notRun = /^not-run:\s*(\S.*)$/.exec(instruction ?? '')?.[1];
      const settings = /^env((?:\s+LATCHKEY_[A-Z0-9_]+=\S*)+)$/.exec(instruction ?? '')?.[1];
      const upstream = /^upstream((?:\s+[a-z0-9-]+)+)$/.exec(instruction ?? '')?.[1];
      if (instruction !== undefined && instruction !== 'empty-server' && !notRun && !settings && !upstream)
        throw new Error(`${file}:${i + 1}: unknown docs-test instruction "${instruction}"`);
      const serverEnv = Object.fromEntries(
        (settings ?? '')
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
      );
      const example: Example = {
        file,
        line: i + 1,
        code,
        emptyServer: instruction === 'empty-server',
        notRun,
        serverEnv,
        app: undefined,
      };
      if (upstream) upstreams.push({ example, names: upstream.trim().split(/\s+/) });
      else examples.push(example);
    }
    i = j;
  }
  // An app may come after the blocks that call it: they are matched once the page is read.
  for (const { example, names } of upstreams) {
    for (const name of names) {
      const app = apps.get(name);
      if (!app) throw new Error(`${file}:${example.line}: no \`<!-- docs-test: app ${name} -->\` block`);
      examples.push({ ...example, app });
    }
  }
  return examples;
}

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Resolves once something listens on the port; rejects when the process ends first or after 60 s. */
async function listeningOn(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the app ended with ${child.exitCode}:\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the app did not listen on ${port} within 60 s:\n${output()}`);
}

/**
 * Starts a page's app with tsx, as a process of its own. Its file is written inside the client
 * package (under dist/, which git ignores), so that it imports `@latchkey/client/guard` by name
 * and the frameworks from the client's dependencies.
 */
async function startApp(
  app: App,
  env: Record<string, string>,
): Promise<{ url: string; stop(): Promise<void> }> {
  const dist = path.join(CLIENT_DIR, 'dist');
  mkdirSync(dist, { recursive: true });
  const dir = mkdtempSync(path.join(dist, 'docs-app-'));
  const file = path.join(dir, `${app.name}.ts`);
  writeFileSync(file, app.code);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', tsxLoader, file], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await listeningOn(port, child, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}

/**
 * The status each curl of a block must answer, in order: the one in a `# NNN` comment on the
 * line right after the command, or undefined for "any 2xx". Continued lines (`\`) are one command.
 */
function expectedStatuses(code: string): (number | undefined)[] {
  const commands = code.replace(/\\\n/g, ' ').split('\n');
  const expected: (number | undefined)[] = [];
  commands.forEach((command, i) => {
    if (command.trim().startsWith('#')) return;
    const calls = command.match(/\bcurl\b/g)?.length ?? 0;
    const documented = /^\s*#\s*(\d{3})\b/.exec(commands[i + 1] ?? '')?.[1];
    for (let n = 0; n < calls; n++)
      expected.push(n === calls - 1 && documented ? Number(documented) : undefined);
  });
  return expected;
}

/**
 * Runs a block with bash. curl is wrapped so that each call dumps its response headers to a
 * numbered file, without changing what the example prints or captures.
 */
async function runBlock(
  code: string,
  env: Record<string, string>,
): Promise<{ exitCode: number | null; stdout: string; stderr: string; statuses: number[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-example-'));
  const headers = path.join(dir, 'headers');
  const prelude = [
    'set -euo pipefail',
    `mkdir -p "${headers}"`,
    `curl() { local n; n=$(ls "${headers}" | wc -l); command curl -sS -D "${headers}/$(printf %04d "$n")" "$@"; }`,
  ].join('\n');
  try {
    const child = spawn('bash', ['-c', `${prelude}\n${code}`], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const statuses = readdirSync(headers)
      .sort()
      .map((f) => {
        const lines = readFileSync(path.join(headers, f), 'utf8').match(/^HTTP\/[\d.]+ (\d{3})/gm) ?? [];
        return Number(lines.at(-1)?.split(' ')[1] ?? 0);
      });
    return { exitCode, stdout, stderr, statuses };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function seed(s: TestServer): Promise<ExampleEnv> {
  const admin = await s.createUser('admin', { superuser: true });
  const key = await s.createKey(admin, { name: 'docs-examples' });
  const login = await s.call('/api/v1/auth/login', {
    method: 'POST',
    json: { username: 'admin', password: PASSWORD },
  });
  if (login.status !== 200) throw new Error(`could not log in: ${JSON.stringify(login.body)}`);
  return { PASSWORD, KEY: key.key, KEY_ID: key.id, JWT: login.body.token, USER_ID: admin.id };
}

const examples = markdownFiles(path.join(REPO_ROOT, 'docs')).flatMap((file) =>
  curlExamples(file, readFileSync(path.join(REPO_ROOT, file), 'utf8')),
);

describe('curl examples in docs/', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThan(10);
    expect(examples.some((e) => e.emptyServer)).toBe(true);
  });

  it('reads the documented statuses and continued lines', () => {
    expect(
      expectedStatuses(
        [
          'KEY=$(curl -s http://x/a \\',
          "  -H 'A: b')",
          'curl http://x/b',
          '# 409 {"code":"BOOTSTRAP_DONE"}',
          'curl http://x/c | curl http://x/d',
          '# 201',
          '# 404 is not after a command',
        ].join('\n'),
      ),
    ).toEqual([undefined, 409, undefined, 201]);
  });

  // A block that needs what one test server cannot give (a reverse proxy, several instances)
  // says so, with the reason; it is listed as skipped, never silently dropped.
  for (const e of examples.filter((x) => x.notRun))
    it.skip(`${e.file}:${e.line} (not run: ${e.notRun})`, () => {});

  it('finds the apps the guides call', () => {
    expect(examples.filter((e) => e.app).length).toBeGreaterThan(3);
  });

  const name = (e: Example) => `${e.file}:${e.line}${e.app ? ` (${e.app.name})` : ''}`;
  it.each(examples.filter((e) => !e.notRun).map((e) => [name(e), e] as const))(
    '%s',
    async (_where, example) => {
      const s = await startTestServer('sqlite', example.serverEnv);
      let app: Awaited<ReturnType<typeof startApp>> | undefined;
      try {
        const env = example.emptyServer ? {} : await seed(s);
        let code = example.code.replaceAll(GUIDE_URL, s.baseUrl);
        if (example.app) {
          // The service's own user, as the guide makes one: it may verify keys, and its key only that.
          const verifier = await s.createUser('service-verifier', { canVerifyKeys: true });
          const { key } = await s.createKey(verifier, { name: 'guard', permissions: ['keys:verify'] });
          app = await startApp(example.app, { LATCHKEY_URL: s.baseUrl, LATCHKEY_VERIFIER_KEY: key });
          code = code.replaceAll(SERVICE_URL, app.url);
        }
        const run = await runBlock(code, { ...env });
        const report = `${example.code}\n--- exit ${run.exitCode}, statuses ${run.statuses.join(', ')}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
        expect(run.exitCode, report).toBe(0);
        const expected = expectedStatuses(example.code);
        expect(
          run.statuses.length,
          `curl ran ${run.statuses.length} times, the block has ${expected.length}\n${report}`,
        ).toBe(expected.length);
        run.statuses.forEach((status, i) => {
          const want = expected[i];
          if (want === undefined)
            expect(status >= 200 && status < 300, `curl #${i + 1} answered ${status}\n${report}`).toBe(true);
          else expect(status, `curl #${i + 1}\n${report}`).toBe(want);
        });
      } finally {
        await app?.stop();
        await s.close();
      }
    },
    120_000,
  );
});

/** The ```js block that follows `<!-- docs-test: webhook-receiver -->` in a guide. */
function receiverExample(markdown: string): string {
  const marker = markdown.indexOf('<!-- docs-test: webhook-receiver -->');
  const open = markdown.indexOf('```js\n', marker);
  if (marker < 0 || open < 0) throw new Error('docs/webhooks.md has no webhook-receiver example');
  return markdown.slice(open + '```js\n'.length, markdown.indexOf('\n```', open));
}

describe('the Node receiver of docs/webhooks.md', () => {
  it('runs as written: it verifies a delivery from a real server and refuses a tampered one', async () => {
    const code = receiverExample(readFileSync(path.join(REPO_ROOT, 'docs/webhooks.md'), 'utf8'));
    // Inside the server package, so that `standardwebhooks` resolves as it would after `npm install`.
    const dir = mkdtempSync(path.join(REPO_ROOT, 'packages/server/test/.docs-receiver-'));
    writeFileSync(path.join(dir, 'receiver.mjs'), code);
    const port = await freePort();
    const s = await startTestServer('sqlite', {
      LATCHKEY_WEBHOOK_ALLOW_HTTP: 'true',
      LATCHKEY_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    });
    const admin = await s.createUser('admin', { superuser: true });
    const { key } = await s.createKey(admin);
    const hook = await s.call('/api/v1/webhooks', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { name: 'docs receiver', url: `http://127.0.0.1:${port}/latchkey` },
    });
    const child = spawn(process.execPath, ['receiver.mjs'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', LATCHKEY_WEBHOOK_SECRET: hook.body.secret, PORT: String(port) },
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    try {
      await listeningOn(port, child, () => stdout);
      const test = await s.call(`/api/v1/webhooks/${hook.body.id}/test`, {
        method: 'POST',
        headers: { 'x-api-key': key },
      });
      expect(test.body).toMatchObject({ status: 'delivered', attempts: [{ status_code: 204 }] });
      expect(stdout).toContain(`webhook.test {"webhook_id":"${hook.body.id}"`);
      const tampered = await fetch(`http://127.0.0.1:${port}/latchkey`, {
        method: 'POST',
        headers: {
          'webhook-id': test.body.event_id,
          'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          'webhook-signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
        },
        body: JSON.stringify({ type: 'key.deleted', timestamp: new Date().toISOString(), data: {} }),
      });
      expect(tampered.status).toBe(400);
      expect(stdout).not.toContain('key.deleted');
    } finally {
      child.kill();
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
