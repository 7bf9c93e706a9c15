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
  system: 'koa' | 'latchkey' | 'better-auth';
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

/** The targets of issue 7, checked against this run. */
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
  ratio('hot-1k', 0.6, 'hot key (1 k keys)');
  ratio('hot-1m', 0.6, 'hot key (1 M keys)');
  ratio('random-1m', 0.5, 'random keys over 1 M');
  ratio('basic', 0.4, 'Basic');
  for (const [big, small, name] of [
    ['random-1m', 'random-1k', 'random keys'],
    ['hot-1m', 'hot-1k', 'hot key'],
  ] as const) {
    const b = by.get(big);
    const s = by.get(small);
    if (b && s) {
      const diff = b.ratio / s.ratio - 1;
      out.push({
        target: `${name}: 1 M within 10 % of 1 k`,
        measured: pct(diff),
        met: Math.abs(diff) <= 0.1,
      });
    }
  }
  const latchkey = report.scenarios.filter((s) => s.system === 'latchkey');
  const worst = latchkey.reduce<ScenarioSummary | undefined>(
    (w, s) => (!w || s.p99Ms > w.p99Ms ? s : w),
    undefined,
  );
  if (worst) {
    out.push({
      target: `p99 ≤ 8 ms at ${report.options.connections} connections (every Latchkey row)`,
      measured: `worst ${worst.p99Ms.toFixed(2)} ms (${worst.label})`,
      met: worst.p99Ms <= 8,
    });
  }
  const hot = by.get('hot-1k');
  const ba = by.get('better-auth-hot');
  if (hot && ba) {
    const times = hot.rps / ba.rps;
    out.push({
      target: "≥ 10 × better-auth's throughput (hot key)",
      measured: `${times.toFixed(1)} ×`,
      met: times >= 10,
    });
  }
  // Each 1 M row has a process of its own: what the keys in the database cost, and what a
  // working set of distinct keys in use adds.
  for (const [id, what] of [
    ['hot-1m', 'one key in use'],
    ['random-1m', 'random keys in use'],
  ] as const) {
    const rss = by.get(id)?.rssMb;
    if (rss === undefined) continue;
    out.push({
      target: `resident memory ≤ 150 MB with 1 M keys (${what})`,
      measured: `${rss} MB`,
      met: rss <= 150,
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
  const colour = { koa: '#9ca3af', latchkey: '#2563eb', 'better-auth': '#dc2626' } as const;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<title>Latchkey, bare Koa and better-auth: throughput as a multiple of bare Koa</title>`,
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
      `| ${s.label} | ${s.keys ? s.keys.toLocaleString('en-US') : '–'} | ${Math.round(s.rps).toLocaleString('en-US')} | ${s.ratio.toFixed(3)} | ${s.p50Ms.toFixed(2)} | ${s.p99Ms.toFixed(2)} | ${s.rssMb} |`,
    );
  }
  lines.push(
    '',
    '![Throughput relative to bare Koa](performance.svg)',
    '',
    '| target (issue 7) | measured | met |',
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

/** Writes docs/performance.json, docs/performance.svg and the results section of docs/performance.md. */
export function writeReport(report: BenchReport, root: string): void {
  const docs = path.join(root, 'docs');
  const checks = checkTargets(report);
  writeFileSync(
    path.join(docs, 'performance.json'),
    `${JSON.stringify({ ...report, targets: checks }, null, 2)}\n`,
  );
  writeFileSync(path.join(docs, 'performance.svg'), chartSvg(report));
  const section = `${START}\n${resultsMarkdown(report, checks)}\n${END}`;
  const file = path.join(docs, 'performance.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const next =
    current.includes(START) && current.includes(END)
      ? current.slice(0, current.indexOf(START)) + section + current.slice(current.indexOf(END) + END.length)
      : `# Performance\n\n${section}\n`;
  writeFileSync(file, next);
  process.stdout.write(
    `${resultsMarkdown(report, checks)}\n\nwrote docs/performance.md, docs/performance.json, docs/performance.svg\n`,
  );
}
