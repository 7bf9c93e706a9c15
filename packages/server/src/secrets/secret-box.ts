import type { SecretBox } from '@latchkey/core';
import { digestSecret } from '../keys/key.hash.js';
import { seal, unseal } from './seal.js';
import type { Secrets } from './secrets.js';

/** The server's secrets as the core uses them: HMAC-SHA256 digests and AES-256-GCM seals. */
export function nodeSecretBox(secrets: Secrets): SecretBox {
  return {
    pepperId: secrets.pepperId,
    jwtKey: secrets.jwtKey,
    digest: (value) => digestSecret(secrets.pepper, value),
    seal: (plaintext) => seal(secrets.sealKey, plaintext),
    unseal: (sealed) => unseal(secrets.sealKey, sealed),
  };
}
