import { describe, expect, it } from 'vitest';
import { keyDigester } from './key-digest.js';

describe('keyDigester', () => {
  it('names a key the same way every time, without the key in the name', async () => {
    const digest = keyDigester();
    const key = 'lk_4GqNv0Qm8ZrT2cYwX7bLp1sDk9HfE3aJ1Z0f2k';
    const name = await digest(key);
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    expect(await digest(key)).toBe(name);
    expect(await digest(`${key}x`)).not.toBe(name);
  });

  it('uses a secret of its own: another digester names the same key differently', async () => {
    const key = 'lk_4GqNv0Qm8ZrT2cYwX7bLp1sDk9HfE3aJ1Z0f2k';
    expect(await keyDigester()(key)).not.toBe(await keyDigester()(key));
  });
});
