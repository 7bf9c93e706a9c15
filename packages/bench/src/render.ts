// Rewrites docs/performance.md's results section and docs/performance.svg from
// docs/performance.json, without measuring again (after a change to the report's layout).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchReport, writeReport } from './report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const saved = JSON.parse(readFileSync(path.join(root, 'docs/performance.json'), 'utf8')) as BenchReport & {
  targets?: unknown;
};
const { targets: _targets, ...report } = saved;
writeReport(report, path.join(root, 'docs'), path.join(root, 'docs/performance.md'));
