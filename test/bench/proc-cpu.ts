// CPU time of a process, for the benchmarks' "server CPU per unit" numbers: unlike throughput,
// they hardly depend on what else the machine is doing.
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the ")" that ends the command name: state is field 3, utime 14, stime 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of the whole machine so far (all cores), from /proc/stat: `tasks` is time in processes
 * (user, nice, system, steal), `irq` time in interrupts and softirqs (where loopback TCP delivery runs,
 * not charged to any process). Undefined elsewhere than Linux.
 */
export function machineCpuSeconds(): { tasks: number; irq: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const tasks = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[7] ?? 0);
    const irq = (v[5] ?? 0) + (v[6] ?? 0);
    return { tasks: tasks / CLOCK_TICKS, irq: irq / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}
