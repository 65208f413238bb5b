/**
 * Servers under test run as child processes so that their CPU time and memory can be read from
 * /proc without counting the benchmark's own clients. A server is any Node script that prints a
 * line from which its port can be read; `spawnServerProcess` starts it, keeps draining its output
 * (a full pipe would stall the server) and keeps the tail for error messages.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** The repository root (scripts/bench/lib → ../../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const OUTPUT_TAIL = 64 * 1024;
const ERROR_LINE = /"level":"(error|warn)"|\bexception\b|^\w*Error\b/i;

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  /** The last 64 KiB the process wrote to stdout and stderr. */
  output(): string;
  /** Lines so far that look like errors or warnings (winston JSON levels, exceptions, stack heads). */
  errorLines(): number;
  /** The first few such lines, for the log. */
  errorSamples(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** Script path relative to the repository root, run with this process's Node. */
  script: string;
  args?: string[];
  env?: Record<string, string | undefined>;
  /** First capture group is the port. */
  portPattern: RegExp;
  startTimeoutMs?: number;
}

/** Start a Node script as a child process and resolve once it has printed its port. */
export async function spawnServerProcess(options: SpawnOptions): Promise<ServerProcess> {
  // BENCH_SERVER_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=data/prof" or "--trace-gc-nvp") reaches
  // the servers only, as command-line flags: V8's own flags are not allowed in NODE_OPTIONS.
  const nodeFlags = (process.env.BENCH_SERVER_NODE_OPTIONS ?? "").split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, path.join(ROOT, options.script), ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, ...options.env } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let errorLines = 0;
  const errorSamples: string[] = [];
  const collect = (data: Buffer) => {
    const text = data.toString("utf8");
    // BENCH_SERVER_OUTPUT=<file> keeps the servers' whole output (e.g. with --trace-gc) there.
    if (process.env.BENCH_SERVER_OUTPUT) appendFileSync(process.env.BENCH_SERVER_OUTPUT, text);
    for (const line of text.split("\n")) {
      if (!ERROR_LINE.test(line)) continue;
      errorLines += 1;
      if (errorSamples.length < 5) errorSamples.push(line.slice(0, 500));
    }
    out += text;
    if (out.length > OUTPUT_TAIL * 2) out = out.slice(-OUTPUT_TAIL);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${options.script} did not start within ${options.startTimeoutMs ?? 30_000} ms:\n${out.slice(-4000)}`));
    }, options.startTimeoutMs ?? 30_000);
    const onData = () => {
      const match = options.portPattern.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.stderr!.off("data", onData);
      resolve(Number(match[1]));
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.script} exited (${code}) before listening:\n${out.slice(-4000)}`));
    });
  });

  return {
    child,
    pid: child.pid!,
    port,
    output: () => out.slice(-OUTPUT_TAIL),
    errorLines: () => errorLines,
    errorSamples: () => [...errorSamples],
    stop: async (graceMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

let clockTicks: number | null = null;

/** Kernel clock ticks per second (the unit of utime/stime in /proc/<pid>/stat). */
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * User + system CPU time a process has used so far, in microseconds (/proc/<pid>/stat fields 14
 * and 15; resolution one clock tick, usually 10 ms). Null when the process is gone.
 */
export function readCpuMicros(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1_000_000) / ticksPerSecond();
}

/** Resident set size (VmRSS) and its peak (VmHWM) in bytes; null when the process is gone. */
export function readMemory(pid: number): { rss: number; peakRss: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kib("VmRSS"), peakRss: kib("VmHWM") };
}

/** CPU used by a set of processes between `start()` and `stop()`, in microseconds. */
export class CpuMeter {
  private readonly pids: () => number[] | Promise<number[]>;
  private startTimes = new Map<number, number>();
  private startedAt = 0;

  /** `pids` is read at start and at stop, so processes may come and go (database backends). */
  constructor(pids: () => number[] | Promise<number[]>) {
    this.pids = pids;
  }

  async start(): Promise<void> {
    this.startTimes.clear();
    for (const pid of await this.pids()) {
      const cpu = readCpuMicros(pid);
      if (cpu !== null) this.startTimes.set(pid, cpu);
    }
    this.startedAt = performance.now();
  }

  /** CPU microseconds used in the window and the window's wall-clock length in ms. */
  async stop(): Promise<{ cpuMicros: number; wallMs: number }> {
    const wallMs = performance.now() - this.startedAt;
    let cpuMicros = 0;
    for (const pid of await this.pids()) {
      const cpu = readCpuMicros(pid);
      if (cpu === null) continue;
      // A process that appeared during the window counts from zero.
      cpuMicros += cpu - (this.startTimes.get(pid) ?? 0);
    }
    return { cpuMicros, wallMs };
  }
}

/**
 * CPU time all processes on the machine have used so far (every core: user, nice, system, irq,
 * softirq, steal; not idle or iowait), in microseconds, from the first line of /proc/stat. Minus
 * what the benchmark accounts for, it shows how busy the rest of the machine was.
 */
export function readMachineBusyMicros(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1_000_000) / ticksPerSecond();
}

/** This process's own CPU time so far (user + system), in microseconds: the clients' share. */
export function selfCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** The commit the working tree is at and how many paths differ from it, for the record. */
export function gitRevision(): { commit: string; changedPaths: number } | null {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const status = execFileSync("git", ["status", "--porcelain"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return { commit, changedPaths: status.split("\n").filter(Boolean).length };
  } catch {
    return null;
  }
}

/** System load for the record: 1/5/15-minute load averages, as `uptime` prints them. */
export function loadAverage(): [number, number, number] {
  const text = readFileSync("/proc/loadavg", "utf8").split(" ");
  return [Number(text[0]), Number(text[1]), Number(text[2])];
}
