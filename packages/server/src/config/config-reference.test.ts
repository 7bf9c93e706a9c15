import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { CONFIG_ENTRIES } from './config.js';
import { renderConfigReference } from './config-reference.js';

it('docs/configuration.md matches the configuration schema (run `pnpm docs:config`)', () => {
  const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
  expect(doc).toBe(renderConfigReference());
  for (const entry of CONFIG_ENTRIES) expect(doc).toContain(`\`${entry.env}\``);
});
