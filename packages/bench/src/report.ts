import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadResult } from './load.js';

export interface Round extends LoadResult {
  ratio: number;
  rssMb: number;
}

export interface ScenarioResult {
  id: string;
  label: string;
  system: 'koa' | 'latchkey' | 'better-auth' | 'nginx';
  keys: number;
  rounds: Round[];
}

export interface ScenarioSummary extends ScenarioResult {
  ratio: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: number;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string };
  generator: string;
  pinned: boolean;
  options: Record<string, number>;
  notes: string[];
  scenarios: ScenarioSummary[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (!sorted.length) return Number.NaN;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Medians over the rounds (the ratio is the median of per-round ratios); memory is the largest seen. */
export function summarise(s: ScenarioResult): ScenarioSummary {
  return {
    ...s,
    ratio: median(s.rounds.map((r) => r.ratio)),
    rps: median(s.rounds.map((r) => r.rps)),
    p50Ms: median(s.rounds.map((r) => r.p50Ms)),
    p99Ms: median(s.rounds.map((r) => r.p99Ms)),
    rssMb: Math.max(...s.rounds.map((r) => r.rssMb)),
  };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

/** A number of keys as the labels say it: 1 k, 20 k, 1 M, 1.5 M, 1,500. */
export function countLabel(n: number): string {
  if (n >= 1_000_000 && n % 100_000 === 0) return `${n / 1_000_000} M`;
  if (n >= 1000 && n % 1000 === 0) return `${n / 1000} k`;
  return n.toLocaleString('en-US');
}

/** The targets of issue 17, checked against this run (a target whose rows did not run is left out). */
export function checkTargets(report: BenchReport): TargetCheck[] {
  const by = new Map(report.scenarios.map((s) => [s.id, s]));
  const out: TargetCheck[] = [];
  const ratio = (id: string, min: number, name: string) => {
    const s = by.get(id);
    if (s)
      out.push({
        target: `${name} ≥ ${min.toFixed(2)} × bare Koa`,
        measured: `${s.ratio.toFixed(3)} ×`,
        met: s.ratio >= min,
      });
  };
  const hot = by.get('hot-small');
  const dflt = by.get('default-small');
  ratio(
    'default-small',
    0.55,
    `default configuration (request log on), hot key, ${countLabel(dflt?.keys ?? 0)} keys`,
  );
  if (hot && dflt) {
    const diff = dflt.ratio / hot.ratio - 1;
    out.push({
      target: 'default configuration within 10 % of the same server with the request log off (hot key)',
      measured: pct(diff),
      met: diff >= -0.1,
    });
  }
  const random = by.get('random-big');
  if (random) {
    const n = countLabel(random.keys);
    ratio('random-big', 0.4, `random keys over ${n}`);
    out.push(
      {
        target: `random keys over ${n}: p99 ≤ 20 ms`,
        measured: `${random.p99Ms.toFixed(2)} ms`,
        met: random.p99Ms <= 20,
      },
      {
        target: `random keys over ${n}: resident memory ≤ 150 MB`,
        measured: `${random.rssMb} MB`,
        met: random.rssMb <= 150,
      },
    );
  }
  const verify = by.get('verify');
  if (verify && hot) {
    out.push({
      target: 'POST /keys/verify ≥ the hot key (request log off, same server)',
      measured: `${verify.ratio.toFixed(3)} × against ${hot.ratio.toFixed(3)} ×`,
      met: verify.ratio >= hot.ratio,
    });
  }
  const plain = by.get('nginx-plain');
  const guarded = by.get('nginx-auth');
  if (plain && guarded) {
    const perRound = median(guarded.rounds.map((r, i) => r.rps / (plain.rounds[i]?.rps ?? Number.NaN)));
    out.push({
      target: 'nginx auth_request to Latchkey ≥ 0.50 × the same nginx proxying without auth',
      measured: `${perRound.toFixed(3)} ×`,
      met: perRound >= 0.5,
    });
  }
  for (const s of [hot, dflt, verify]) {
    if (!s) continue;
    out.push({
      target: `p99 ≤ 5 ms at ${report.options.connections} connections: ${s.label}`,
      measured: `${s.p99Ms.toFixed(2)} ms`,
      met: s.p99Ms <= 5,
    });
  }
  const ba = by.get('better-auth-hot');
  if (hot && ba) {
    const times = hot.rps / ba.rps;
    out.push({
      target: "≥ 20 × better-auth's throughput (hot key)",
      measured: `${times.toFixed(1)} ×`,
      met: times >= 20,
    });
  }
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar chart of the median ratio to bare Koa, one bar per row. */
export function chartSvg(report: BenchReport): string {
  const rows = report.scenarios;
  const labelW = 330;
  const barW = 420;
  const rowH = 26;
  const top = 40;
  const height = top + rows.length * rowH + 40;
  const width = labelW + barW + 140;
  const max = Math.max(1, ...rows.map((r) => r.ratio));
  const x = (v: number) => labelW + (v / max) * barW;
  const colour = { koa: '#9ca3af', latchkey: '#2563eb', 'better-auth': '#dc2626', nginx: '#059669' } as const;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<title>Latchkey, bare Koa, nginx and better-auth: throughput as a multiple of bare Koa</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${labelW}" y="22" font-weight="600">Throughput as a multiple of bare Koa (median of ${report.options.rounds} rounds)</text>`,
  ];
  for (const t of [0.4, 0.5, 0.6, 1]) {
    if (t > max) continue;
    parts.push(
      `<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${top + rows.length * rowH}" stroke="#d1d5db" stroke-dasharray="3,3"/>`,
      `<text x="${x(t)}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#6b7280">${t.toFixed(1)}×</text>`,
    );
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    parts.push(
      `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(r.label)}</text>`,
      `<rect x="${labelW}" y="${y + 4}" width="${Math.max(1, x(r.ratio) - labelW)}" height="${rowH - 8}" fill="${colour[r.system]}"/>`,
      `<text x="${x(r.ratio) + 6}" y="${y + 16}">${r.ratio.toFixed(r.ratio < 0.1 ? 3 : 2)}× · ${Math.round(r.rps).toLocaleString('en-US')}/s</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export function resultsMarkdown(report: BenchReport, checks: TargetCheck[]): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(
    `Run of \`pnpm bench\` from ${report.startedAt} to ${report.finishedAt}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}; load generator **${report.generator}** (${report.options.connections} connections, one thread)${report.pinned ? ', each server pinned to core 0 and the load generator to core 1 with taskset' : ', without pinning (taskset or a second core missing)'}; ${report.options.rounds} rounds of ${report.options.durationS} s after a ${report.options.warmupS} s warm-up of each row. Endpoint: \`GET /api/v1/auth/whoami\` (authenticate, rate limit, answer who called), except the verify row: \`POST /api/v1/keys/verify\` by a verifier's key about another key (authenticate the caller, validate the body, verify the key, spend its rate limit).`,
    '',
    '| scenario | keys in database | req/s (median) | × bare Koa (median of per-round ratios) | p50 ms | p99 ms | resident memory MB |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const s of report.scenarios) {
    lines.push(
      `| ${s.label} | ${s.keys ? s.keys.toLocaleString('en-US') : '–'} | ${Math.round(s.rps).toLocaleString('en-US')} | ${s.ratio.toFixed(3)} | ${s.p50Ms.toFixed(2)} | ${s.p99Ms.toFixed(2)} | ${s.rssMb == null || Number.isNaN(s.rssMb) ? '–' : s.rssMb} |`,
    );
  }
  lines.push(
    '',
    '![Throughput relative to bare Koa](performance.svg)',
    '',
    '| target (issue 17) | measured | met |',
    '|---|---|---|',
  );
  for (const c of checks) lines.push(`| ${c.target} | ${c.measured} | ${c.met ? 'yes' : '**no**'} |`);
  if (report.notes.length) {
    lines.push('', ...report.notes.map((n) => `- ${n}`));
  }
  lines.push('', 'Every round of every row is in [performance.json](performance.json).');
  return lines.join('\n');
}

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/**
 * Writes performance.json, performance.svg and performance.md into `dir`: the results section
 * of `template` (docs/performance.md) replaced, so that `dir` = docs/ rewrites the committed
 * report and any other folder holds a trial's.
 */
export function writeReport(report: BenchReport, dir: string, template: string): void {
  const checks = checkTargets(report);
  const workers1 = report.scenarios.find((s) => s.id === 'workers-1');
  const workers2 = report.scenarios.find((s) => s.id === 'workers-2');
  if (workers1 && workers2) {
    const perRound = median(workers2.rounds.map((r, i) => r.rps / (workers1.rounds[i]?.rps ?? Number.NaN)));
    const note = `2 workers answered ${perRound.toFixed(3)} × the requests of 1 worker (median of per-round ratios, same rounds; both may use both cores, which the load generator shares).`;
    if (!report.notes.includes(note)) report.notes.push(note);
  }
  writeFileSync(
    path.join(dir, 'performance.json'),
    `${JSON.stringify({ ...report, targets: checks }, null, 2)}\n`,
  );
  writeFileSync(path.join(dir, 'performance.svg'), chartSvg(report));
  const section = `${START}\n${resultsMarkdown(report, checks)}\n${END}`;
  const file = path.join(dir, 'performance.md');
  const current = existsSync(template) ? readFileSync(template, 'utf8') : '';
  const next =
    current.includes(START) && current.includes(END)
      ? current.slice(0, current.indexOf(START)) + section + current.slice(current.indexOf(END) + END.length)
      : `# Performance\n\n${section}\n`;
  writeFileSync(file, next);
  process.stdout.write(
    `${resultsMarkdown(report, checks)}\n\nwrote performance.md, performance.json and performance.svg in ${dir}\n`,
  );
}
