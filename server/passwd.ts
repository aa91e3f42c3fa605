// `kitsune passwd`: reads a password and prints its hashed form for a ticket in the config file.
// From stdin when it is not a terminal (the first line), else by a prompt without echo, asked twice.
import { checkHashOptions, DEFAULT_PBKDF2_ITERATIONS, DEFAULT_SCRYPT, type HashOptions, hashSecret } from '../lib/core/auth/secret.ts';

export interface PasswdOptions {
  algorithm: 'scrypt' | 'pbkdf2-sha256';
  /** scrypt: ln (N = 2^ln); pbkdf2-sha256: iterations. */
  cost?: number;
}

/** Where the command writes: the hashed secret (out), prompts and problems (err). */
export interface PasswdOutput {
  out(text: string): void;
  err(text: string): void;
}

/** Longest password read: a bound on what stdin can make us hold. */
const MAX_PASSWORD_BYTES = 4096;

export const PASSWD_DEFAULTS = `scrypt ln=${DEFAULT_SCRYPT.ln}, pbkdf2-sha256 i=${DEFAULT_PBKDF2_ITERATIONS}`;

/** The first line of a non-terminal stdin, without its line ending. */
async function readLine(input: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    chunks.push(b);
    size += b.length;
    if (b.includes(0x0a) || size > MAX_PASSWORD_BYTES) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const end = text.indexOf('\n');
  return (end < 0 ? text : text.slice(0, end)).replace(/\r$/, '');
}

/** A line typed on the terminal, not echoed; undefined on Ctrl-C / Ctrl-D. */
function prompt(input: NodeJS.ReadStream, output: PasswdOutput, question: string): Promise<string | undefined> {
  output.err(question);
  return new Promise((resolve) => {
    let typed = '';
    const finish = (value: string | undefined): void => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      output.err('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(typed);
        if (ch === '\u0003' || ch === '\u0004') return finish(undefined);
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (typed.length < MAX_PASSWORD_BYTES) typed += ch;
      }
    };
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}

async function readPassword(input: NodeJS.ReadStream, output: PasswdOutput): Promise<string | undefined> {
  if (!input.isTTY) return readLine(input);
  const first = await prompt(input, output, 'Password: ');
  if (first === undefined) return undefined;
  const again = await prompt(input, output, 'Again: ');
  if (again !== first) {
    output.err('the passwords differ\n');
    return undefined;
  }
  return first;
}

/** Exit code: 0 with the hashed secret on stdout, 2 with the reason on stderr. */
export async function runPasswd(options: PasswdOptions, input: NodeJS.ReadStream, output: PasswdOutput): Promise<number> {
  const hashOptions: HashOptions = options.algorithm === 'scrypt' ? { algorithm: 'scrypt', ln: options.cost } : { algorithm: 'pbkdf2-sha256', iterations: options.cost };
  try {
    checkHashOptions(hashOptions); // before asking for a password that could not be used
  } catch (err) {
    output.err(`kitsune passwd: --cost ${options.cost}: ${(err as Error).message}\n`);
    return 2;
  }
  const password = await readPassword(input, output);
  if (password === undefined) return 2;
  if (password === '') {
    output.err('kitsune passwd: empty password\n');
    return 2;
  }
  output.out(`${await hashSecret(password, hashOptions)}\n`);
  return 0;
}
