import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Generator = 'wrk' | 'autocannon';

export interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  /** One fixed set of headers, or a file of keys to pick from at random (X-API-Key). */
  headers?: Record<string, string>;
  randomKeysFile?: string;
  /** A JSON body to POST (GET without one); not with randomKeysFile. */
  body?: string;
  /** The CPU core the load generator runs on; undefined when taskset is missing. */
  core: number | undefined;
}

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** wrk when it is installed, otherwise autocannon from npm; one of them for the whole run. */
export function pickGenerator(): Generator {
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return probe.error ? 'autocannon' : 'wrk';
}

export function hasTaskset(): boolean {
  return !spawnSync('taskset', ['-c', '0', 'true']).error;
}

/** The command, prefixed with `taskset -c <cores>` when a core (or a list such as `0,1`) is given. */
export function pinned(core: number | string | undefined, cmd: string, args: string[]): [string, string[]] {
  return core === undefined ? [cmd, args] : ['taskset', ['-c', String(core), cmd, ...args]];
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}:\n${out}`)),
    );
  });
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function wrkLatency(text: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  if (!m?.[1] || !m[2]) throw new Error(`no ${pct}% latency in wrk output:\n${text}`);
  return Number(m[1]) * (UNIT_MS[m[2]] ?? Number.NaN);
}

const RANDOM_KEYS_LUA = `
local keys = {}
for line in io.lines(os.getenv("BENCH_KEYS_FILE")) do
  if #line > 0 then keys[#keys + 1] = line end
end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", nil, { ["X-API-Key"] = keys[math.random(#keys)] })
end
`;

/** A wrk script that POSTs one JSON body (a Lua long string, so that quotes need no escaping). */
const postScript = (body: string) => `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[${body}]==]
`;

async function runWrk(spec: LoadSpec, workDir: string): Promise<LoadResult> {
  const args = ['-t1', `-c${spec.connections}`, `-d${spec.durationS}s`, '--latency', '--timeout', '10s'];
  for (const [k, v] of Object.entries(spec.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (spec.body !== undefined) {
    if (spec.body.includes(']==]')) throw new Error('the body cannot hold ]==]');
    const script = path.join(workDir, 'post-body.lua');
    writeFileSync(script, postScript(spec.body));
    args.push('-s', script);
  } else if (spec.randomKeysFile) {
    const script = path.join(workDir, 'random-keys.lua');
    writeFileSync(script, RANDOM_KEYS_LUA);
    args.push('-s', script);
    process.env.BENCH_KEYS_FILE = spec.randomKeysFile;
  }
  args.push(spec.url);
  const [cmd, full] = pinned(spec.core, 'wrk', args);
  const out = await run(cmd, full);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0;
  if (!Number.isFinite(rps)) throw new Error(`could not read wrk output:\n${out}`);
  return { rps, p50Ms: wrkLatency(out, '50'), p99Ms: wrkLatency(out, '99'), requests, non2xx, errors };
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const script = path.join(HERE, 'autocannon-load.ts');
  const [cmd, full] = pinned(spec.core, process.execPath, ['--import', 'tsx', script, JSON.stringify(spec)]);
  const out = await run(cmd, full);
  const line = out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as LoadResult;
}

export function runLoad(generator: Generator, spec: LoadSpec, workDir: string): Promise<LoadResult> {
  return generator === 'wrk' ? runWrk(spec, workDir) : runAutocannon(spec);
}
