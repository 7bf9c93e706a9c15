import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Secrets {
  /** Key of the HMAC that stores API keys and session cookies. */
  pepper: Buffer;
  /** Short public name of the pepper, stored beside each digest so peppers can rotate. */
  pepperId: string;
  /** HS256 key of login JWTs. */
  jwtKey: Uint8Array;
  /** AES-256-GCM key that seals get_api_token tokens. */
  sealKey: Buffer;
}

interface SecretsFile {
  pepper: string;
  jwt_secret: string;
}

export const SECRETS_FILE = 'secrets.json';

/**
 * Takes the pepper and JWT secret from the configuration, or from `secrets.json` in the
 * data folder, generating that file (mode 0600) on first start. Returns what was
 * generated so the caller can say so.
 */
export function loadSecrets(
  dataDir: string,
  given: { pepper: string | undefined; jwtSecret: string | undefined },
): { secrets: Secrets; generated: boolean } {
  let pepper = given.pepper;
  let jwtSecret = given.jwtSecret;
  let generated = false;
  if (!pepper || !jwtSecret) {
    const file = path.join(dataDir, SECRETS_FILE);
    let stored: SecretsFile | undefined;
    if (existsSync(file)) {
      stored = JSON.parse(readFileSync(file, 'utf8')) as SecretsFile;
      if (typeof stored.pepper !== 'string' || typeof stored.jwt_secret !== 'string') {
        throw new Error(`${file} is damaged: it must hold "pepper" and "jwt_secret"`);
      }
    } else {
      stored = {
        pepper: randomBytes(32).toString('base64url'),
        jwt_secret: randomBytes(32).toString('base64url'),
      };
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      generated = true;
    }
    pepper ??= stored.pepper;
    jwtSecret ??= stored.jwt_secret;
  }
  return { secrets: deriveSecrets(pepper, jwtSecret), generated };
}

export function deriveSecrets(pepper: string, jwtSecret: string): Secrets {
  const master = Buffer.from(jwtSecret, 'utf8');
  return {
    pepper: Buffer.from(pepper, 'utf8'),
    pepperId: createHash('sha256').update(`latchkey-pepper-id:${pepper}`).digest('hex').slice(0, 12),
    jwtKey: new Uint8Array(hkdfSync('sha256', master, Buffer.alloc(0), 'latchkey jwt', 32)),
    sealKey: Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'latchkey token seal', 32)),
  };
}
