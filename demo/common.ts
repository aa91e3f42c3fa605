// Small helpers the demo programs share: JSON event lines on stdout, sleep, and the fib task.

/** A logger writing one JSON line per event, as the demos' tests and supervisord logs read them. */
export function eventLog(worker: string): (event: string, extra?: Record<string, unknown>) => void {
  return (event, extra = {}) => process.stdout.write(JSON.stringify({ event, worker, at: Date.now(), ...extra }) + '\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** fib(1) = fib(2) = 1, as hustmq's do_post.py example computes it. */
export function fib(n: number): bigint {
  let [a, b] = [0n, 1n];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}
