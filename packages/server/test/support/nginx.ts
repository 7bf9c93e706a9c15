// A real nginx for tests: found on this machine (Debian's nginx-light, which .ci/run installs),
// run as a child process on free ports with a configuration written into a temp folder, and
// stopped and removed afterwards. Also a small upstream app that echoes what nginx passed on,
// and the forward-auth configuration pattern (auth_request) that puts an auth service in front
// of it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

/** The nginx binary: `NGINX_PATH`, else `nginx` on the PATH, else the usual sbin folders; undefined when none. */
export function findNginx(): string | undefined {
  if (process.env.NGINX_PATH) return existsSync(process.env.NGINX_PATH) ? process.env.NGINX_PATH : undefined;
  try {
    const found = execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // not on the PATH (sbin folders are not on a normal user's)
  }
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) =>
    existsSync(p),
  );
}

/** Where nginx is on this machine, or undefined (the nginx suites then skip, saying so). */
export const NGINX = findNginx();

/** Says why a suite is skipped when nginx cannot be found; call it at the top of the file. */
export function warnWithoutNginx(file: string): void {
  if (!NGINX) {
    console.warn(
      `${file} skipped: nginx not found (apt-get install nginx-light, which .ci/run does, or set NGINX_PATH)`,
    );
  }
}

export interface NginxOptions {
  /**
   * The inside of the `http {}` block (upstreams and servers), given the free ports to listen
   * on and the folder nginx runs in (for caches and files of its own).
   */
  http(site: { ports: number[]; dir: string }): string;
  /** How many free ports to hand to `http`; default 1. */
  ports?: number;
  /** The CPU core to pin nginx to with taskset (the benchmark's server core). */
  core?: number | undefined;
}

export interface RunningNginx {
  /** `http://127.0.0.1:<first port>`. */
  url: string;
  ports: number[];
  /** The folder with nginx.conf, the logs, the pid file and the temp folders. */
  dir: string;
  /** The configuration nginx runs with. */
  config: string;
  /** nginx's error log so far (warnings and errors, and what it printed on stderr). */
  errorLog(): string;
  /** Stops nginx (fast shutdown) and removes its folder. */
  stop(): Promise<void>;
}

const running = new Set<RunningNginx>();

/** Stops every nginx this process started and has not stopped yet (for afterAll). */
export async function stopAllNginx(): Promise<void> {
  await Promise.all([...running].map((n) => n.stop()));
}

/** Resolves when something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts nginx in the foreground (`daemon off`, one worker) with everything it writes (pid,
 * error and access logs, every *_temp_path) inside a fresh temp folder, on free ports, and
 * resolves once every port accepts connections. Throws with the error log when it exits
 * first or does not come up.
 *
 * @example
 * ```ts
 * const nginx = await startNginx({ http: ({ ports }) => `server { listen 127.0.0.1:${ports[0]}; return 204; }` });
 * await fetch(nginx.url); // 204
 * await nginx.stop();
 * ```
 */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const binary = NGINX;
  if (!binary) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-nginx-'));
  // Run as root, the master hands the workers to an unprivileged user, which must reach the
  // temp and cache folders that nginx creates in here.
  chmodSync(dir, 0o755);
  const ports: number[] = [];
  for (let i = 0; i < (options.ports ?? 1); i++) ports.push(await freePort());
  const errorLog = path.join(dir, 'error.log');
  const config = `# written by packages/server/test/support/nginx.ts
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${errorLog} warn;
events {
    worker_connections 1024;
}
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/client_body_temp;
    proxy_temp_path ${dir}/proxy_temp;
    fastcgi_temp_path ${dir}/fastcgi_temp;
    uwsgi_temp_path ${dir}/uwsgi_temp;
    scgi_temp_path ${dir}/scgi_temp;
    default_type application/octet-stream;

${options.http({ ports, dir })}
}
`;
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, config);
  // -e: even before reading the configuration, nginx must not try the system's log folder.
  const args = ['-p', dir, '-c', file, '-e', errorLog];
  // taskset execs nginx in its own process, so that the signals below still reach nginx.
  const child: ChildProcess =
    options.core === undefined
      ? spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', String(options.core), binary, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let printed = '';
  child.stdout?.on('data', (d: Buffer) => {
    printed += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    printed += d.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const readLog = () => {
    const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
    return `${printed}${log}`;
  };
  let stopped = false;
  const nginx: RunningNginx = {
    url: `http://127.0.0.1:${ports[0]}`,
    ports,
    dir,
    config,
    errorLog: readLog,
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(nginx);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(nginx);
  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = readLog();
      await nginx.stop();
      throw new Error(`nginx exited at start:\n${log}\n--- configuration\n${config}`);
    }
    const up = await Promise.all(ports.map(accepts));
    if (up.every(Boolean)) return nginx;
    if (Date.now() > until) {
      const log = readLog();
      await nginx.stop();
      throw new Error(`nginx did not listen on ${ports.join(', ')}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One request as the echo app received it. */
export interface EchoedRequest {
  method: string;
  /** Path and query string. */
  url: string;
  /** Headers by lower-case name, as Node joins them. */
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EchoApp {
  url: string;
  port: number;
  /** Every request received, oldest first. */
  requests: EchoedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Starts a node:http server on a free port of 127.0.0.1 with this request handler. */
export async function listenLocally(server: Server): Promise<number> {
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** Closes a server started by listenLocally, its keep-alive connections included. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * The upstream app behind nginx: answers every request 200 with JSON of what it received
 * (method, path and query, headers, body), so that a test sees what nginx passed on.
 *
 * @example
 * ```ts
 * const app = await startEchoApp();
 * // ... requests through nginx ...
 * expect(app.requests[0]?.headers['x-auth-user-id']).toBe(userId);
 * ```
 */
export async function startEchoApp(): Promise<EchoApp> {
  const requests: EchoedRequest[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const echoed: EchoedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(echoed);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(echoed));
    });
  });
  server.on('connection', () => connections++);
  const port = await listenLocally(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    close: () => closeServer(server),
  };
}

/** What {@link forwardAuthServer} puts in front of an app. */
export interface ForwardAuthSite {
  /** The port nginx listens on for this site. */
  listen: number;
  /** The folder nginx runs in (from {@link NginxOptions.http}): the refusal cache lives there. */
  dir: string;
  /** The auth service, `host:port`. */
  authServer: string;
  /** Path and query of its check, for example `/api/v1/auth/forward?permission=archive.snapshots:write`. */
  authPath: string;
  /** The app behind, `host:port`. */
  appServer: string;
  /** Headers of the auth service's 2xx answer that the app gets (a client's own are replaced). */
  toApp: string[];
  /** Headers of the auth service's 2xx answer that the client gets with the app's answer. */
  toClient: string[];
  /** A prefix for the names of this site's upstreams, variables and cache, when one nginx has several. */
  name?: string;
}

const variable = (prefix: string, header: string) => `$${prefix}_${header.toLowerCase().replace(/-/g, '_')}`;

/**
 * The forward-auth pattern: nginx asks the auth service about every request (`auth_request`)
 * and only passes the request to the app when it answers 2xx, copying identity headers to the
 * app and rate-limit headers to the client. A refusal reaches the client exactly as the auth
 * service wrote it: its status (401, 403, 429, also 400 and 503), its headers
 * (`WWW-Authenticate`, `Retry-After`, the rate limits) and its problem body.
 *
 * auth_request alone cannot do the last part: it makes a header-only subrequest, turns 401 and
 * 403 into nginx's own error page (keeping only `WWW-Authenticate`), and any other status, 429
 * included, into a 500 (logging "auth request unexpected status: 429"). Asking the auth
 * service again from an `error_page` location would count every refused attempt twice
 * (lockouts, rate limits). So the auth location also stores each refusal in a small cache
 * keyed by `$request_id` (one per client request, the same in the subrequest and after the
 * error_page redirect), never looking anything up there (`proxy_cache_bypass 1`: no cache
 * work for allowed requests); nginx reads the refusal's body to store it. The `error_page`
 * location, reached with `=` so that the stored status is the answer's, serves that stored
 * answer: same status, headers, body. Its upstream is marked `down`, so that it never asks
 * anyone on a miss; a miss (the auth service did not answer, or answered 404 or a 5xx other
 * than 500 and 503) is a 502. An error_page with a plain URI (not a named location) turns the
 * method into GET, which the cache needs.
 *
 * Also: the subrequest drops the request body (`proxy_pass_request_body off`) and sends the
 * original method and URI in `X-Original-Method` and `X-Original-URI`, with all the client's
 * headers (the credential); `X-Forwarded-For` is replaced by the client address. Connections
 * to the auth service are kept alive (an `upstream` with `keepalive`, HTTP/1.1, no
 * `Connection` header), but only while its 2xx answers have no body (`Content-Length: 0` or
 * 204): nginx does not read the body of an allowed subrequest and closes the connection
 * instead. A 429 closes the client's connection (nginx treats the mapped 500 so).
 *
 * @example
 * ```ts
 * const nginx = await startNginx({ http: ({ ports, dir }) => forwardAuthServer({
 *   listen: ports[0]!, dir, authServer: '127.0.0.1:8800', authPath: '/api/v1/auth/forward',
 *   appServer: `127.0.0.1:${app.port}`, toApp: ['X-Auth-User-Id'], toClient: ['X-RateLimit-Remaining'],
 * }) });
 * ```
 */
export function forwardAuthServer(site: ForwardAuthSite): string {
  const n = site.name ?? 'latchkey';
  const fromAuth = (h: string) => `$upstream_http_${h.toLowerCase().replace(/-/g, '_')}`;
  const toApp = site.toApp.flatMap((h) => [
    `auth_request_set ${variable(n, h)} ${fromAuth(h)};`,
    `proxy_set_header ${h} ${variable(n, h)};`,
  ]);
  const toClient = site.toClient.flatMap((h) => [
    `auth_request_set ${variable(`${n}_out`, h)} ${fromAuth(h)};`,
    `add_header ${h} ${variable(`${n}_out`, h)} always;`,
  ]);
  const indent = (lines: string[]) => lines.map((l) => `            ${l}`).join('\n');
  return `    proxy_cache_path ${site.dir}/${n}_refusals keys_zone=${n}_refusals:1m inactive=10s use_temp_path=off;

    upstream ${n}_auth {
        server ${site.authServer};
        keepalive 16;
    }
    upstream ${n}_app {
        server ${site.appServer};
        keepalive 16;
    }
    # Never contacted: the refusal location answers from the cache only.
    upstream ${n}_refusal_cache_only {
        server 127.0.0.1:9 down;
    }

    server {
        listen 127.0.0.1:${site.listen};

        location / {
            auth_request /_${n}_auth;
            # Identity to the app: proxy_set_header replaces whatever the client sent as these.
${indent(toApp)}
            # Rate limits to the client, with the app's answer.
${indent(toClient)}
            # A refusal: 401 and 403 as such, every other status of the auth service as 500.
            error_page 401 403 500 = /_${n}_refusal;

            proxy_pass http://${n}_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }

        location = /_${n}_auth {
            internal;
            proxy_pass http://${n}_auth${site.authPath};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # Store refusals (status, headers, body) for /_${n}_refusal; look nothing up here.
            proxy_cache ${n}_refusals;
            proxy_cache_key $request_id;
            proxy_cache_bypass 1;
            proxy_cache_valid 400 401 403 429 500 503 10s;
            proxy_ignore_headers Cache-Control Expires Set-Cookie Vary X-Accel-Expires;
        }

        location = /_${n}_refusal {
            internal;
            proxy_pass http://${n}_refusal_cache_only;
            proxy_cache ${n}_refusals;
            proxy_cache_key $request_id;
            # auth_request already copied WWW-Authenticate of a 401; the stored one would repeat it.
            proxy_hide_header WWW-Authenticate;
            max_ranges 0;
        }
    }`;
}

/** A server that only proxies to the app, for comparison with the forward-auth one. */
export function plainProxyServer(site: { listen: number; appServer: string; name?: string }): string {
  const n = site.name ?? 'plain';
  return `    upstream ${n}_app {
        server ${site.appServer};
        keepalive 16;
    }
    server {
        listen 127.0.0.1:${site.listen};
        location / {
            proxy_pass http://${n}_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }
    }`;
}

/** docs/proxy.md, whose nginx block is the configuration the proxy suite and the benchmark run. */
const PROXY_GUIDE = fileURLToPath(new URL('../../../../docs/proxy.md', import.meta.url));

/**
 * The nginx configuration of docs/proxy.md as written there, with its addresses and folder
 * replaced: each of them must appear exactly once, so that a change of the guide that the
 * tests would not follow fails loudly.
 */
export function proxyGuideConfig(values: {
  listen: number;
  latchkey: string;
  api: string;
  dir: string;
}): string {
  const block = /```nginx\n([\s\S]*?)```/.exec(readFileSync(PROXY_GUIDE, 'utf8'))?.[1];
  if (!block) throw new Error('docs/proxy.md has no ```nginx block');
  let config = block;
  const replace = (from: string, to: string) => {
    const count = config.split(from).length - 1;
    if (count !== 1)
      throw new Error(`docs/proxy.md: expected "${from}" once in the nginx block, found ${count}`);
    config = config.replace(from, to);
  };
  replace('listen 8080;', `listen 127.0.0.1:${values.listen};`);
  replace('server 127.0.0.1:8800;', `server ${values.latchkey};`);
  replace('server 127.0.0.1:3000;', `server ${values.api};`);
  replace('/var/cache/nginx/', `${values.dir}/`);
  return config;
}
