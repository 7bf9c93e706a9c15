import type { ReadStream } from 'node:tty';

/** The user pressed Ctrl-C (or Ctrl-D on an empty line) at a prompt. */
export class PromptCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'PromptCancelled';
  }
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const ESC = '\u001b';

/**
 * Asks questions at a terminal by reading its keys one by one in raw mode: a hidden answer
 * (a password) is never echoed, by us or by the terminal. Keys typed ahead of a prompt are
 * kept for it. Backspace and Ctrl-U edit, Enter ends the answer, Ctrl-C (and Ctrl-D on an
 * empty answer) cancel with PromptCancelled.
 */
export class TerminalPrompt {
  /** Keys that arrived after the Enter of the previous answer. */
  private pending = '';

  constructor(
    private readonly input: ReadStream,
    private readonly output: NodeJS.WritableStream,
  ) {}

  /** Shows the question and resolves with the answer (without its line end). */
  ask(question: string, options: { hidden?: boolean } = {}): Promise<string> {
    const hidden = options.hidden ?? false;
    const { input, output } = this;
    // Raw mode before the question shows: a key typed once it is visible is never echoed.
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    output.write(question);
    let answer = '';
    return new Promise<string>((resolve, reject) => {
      const finish = (error?: Error) => {
        input.off('data', onData);
        input.off('end', onEnd);
        input.setRawMode(wasRaw);
        input.pause();
        output.write('\n');
        if (error) reject(error);
        else resolve(answer);
      };
      const onEnd = () => finish(new PromptCancelled());
      /** Consumes keys; true once the answer is complete or cancelled. */
      const take = (keys: string): boolean => {
        const chars = [...keys];
        for (let i = 0; i < chars.length; i++) {
          const c = chars[i] as string;
          if (c === '\r' || c === '\n') {
            // A CR LF pair is one Enter.
            const next = c === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1;
            this.pending = chars.slice(next).join('');
            finish();
            return true;
          }
          if (c === CTRL_C || (c === CTRL_D && answer === '')) {
            this.pending = '';
            finish(new PromptCancelled());
            return true;
          }
          if (c === '\u007f' || c === '\b') {
            if (answer) {
              answer = [...answer].slice(0, -1).join('');
              if (!hidden) output.write('\b \b');
            }
          } else if (c === CTRL_U) {
            if (!hidden) output.write('\b \b'.repeat([...answer].length));
            answer = '';
          } else if (c === ESC) {
            // An escape sequence (arrow keys, function keys): skipped whole.
            if (chars[i + 1] === '[' || chars[i + 1] === 'O') {
              i += 2;
              while (i < chars.length && !/[@-~]/.test(chars[i] as string)) i++;
            }
          } else if (c >= ' ') {
            answer += c;
            if (!hidden) output.write(c);
          }
        }
        return false;
      };
      const onData = (data: Buffer | string) => {
        take(typeof data === 'string' ? data : data.toString('utf8'));
      };
      const ahead = this.pending;
      this.pending = '';
      if (ahead && take(ahead)) return;
      input.on('data', onData);
      input.once('end', onEnd);
      input.resume();
    });
  }

  /**
   * Asks for a new password twice, until both agree and `check` finds nothing wrong with it
   * (it returns what is wrong), at most `attempts` times.
   */
  async newPassword(check: (password: string) => string | undefined, attempts = 3): Promise<string> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const password = await this.ask('Password: ', { hidden: true });
      const problem = password ? check(password) : 'the password must not be empty';
      if (problem) {
        this.output.write(`${problem}; try again.\n`);
        continue;
      }
      const again = await this.ask('Password (again): ', { hidden: true });
      if (again !== password) {
        this.output.write('The two passwords do not match; try again.\n');
        continue;
      }
      return password;
    }
    throw new PasswordNotSet(attempts);
  }
}

/** No acceptable, confirmed password after the allowed attempts. */
export class PasswordNotSet extends Error {
  constructor(attempts: number) {
    super(`no password was set after ${attempts} attempts`);
    this.name = 'PasswordNotSet';
  }
}
