// Empties the current package's dist/ before a build, so that a packed tarball never carries
// the output of a source file that was since removed or renamed.
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
