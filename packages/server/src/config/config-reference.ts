import { CONFIG_ENTRIES, DATABASE_ENTRIES } from './config.js';

/** The configuration reference as Markdown, generated from the configuration schema itself. */
export function renderConfigReference(): string {
  const rows = [
    ...CONFIG_ENTRIES.map((e) => ({
      env: e.env,
      flag: e.flag,
      default: e.default,
      description: e.description,
    })),
    ...DATABASE_ENTRIES.map((e) => ({
      env: e.env,
      flag: undefined,
      default: e.default,
      description: e.description,
    })),
  ];
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from packages/server/src/config/config.ts by `pnpm docs:config`; do not edit. -->',
    '',
    'Latchkey reads its settings from `LATCHKEY_*` environment variables; `latchkey serve` also takes the',
    'flags shown. Every value is checked at start, and each bad one is reported by name.',
    '',
    '| variable | flag | default | meaning |',
    '|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| \`${r.env}\` | ${r.flag ? `\`${r.flag}\`` : ''} | ${r.default === undefined ? '(none)' : `\`${cell(r.default)}\``} | ${cell(r.description)} |`,
    ),
    '',
  ].join('\n');
}
