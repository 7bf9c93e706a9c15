import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one closing line, `<package>: N passed, N failed, N skipped`, that any CI can
 * read; the package is named by its folder (`console/test` for the console's browser tests,
 * which are a package of their own). Shared by every package's vitest config.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
    }
    const folder = path.relative(fileURLToPath(new URL('../packages', import.meta.url)), process.cwd());
    process.stdout.write(
      `\n${folder}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  }
}
