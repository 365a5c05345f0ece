/**
 * The slots of second engines (`tests/helpers/second_engine.ts`): claiming one, its network
 * namespace and veth pair, the prerequisites, and tearing a slot down (also a stale one whose
 * owner process died).
 *
 * @module
 */
import { connectEngine, containerList, containerRemove } from "../../src/engine/mod.ts";

/** Where the slots live. */
export const SECOND_ENGINE_ROOT = "/tmp/bbe2";

/** How many second engines may run on the machine at once. */
export const SECOND_ENGINE_SLOTS = 64;

/** A second engine could not be started (or a prerequisite is missing). */
export class SecondEngineError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "SecondEngineError";
  }
}

export async function checkPrerequisites(): Promise<void> {
  if (Deno.uid() !== 0) {
    throw new SecondEngineError(
      "Cannot start a second dockerd: it needs root (network namespaces, iptables, mounts)",
    );
  }
  for (const program of ["dockerd", "nsenter", "unshare", "ip", "sh"]) {
    if (!(await onPath(program))) {
      throw new SecondEngineError(
        `Cannot start a second dockerd: "${program}" is not on PATH ` +
          "(install docker.io, util-linux and iproute2)",
      );
    }
  }
}

async function onPath(program: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    try {
      const info = await Deno.stat(`${dir}/${program}`);
      if (info.isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

export async function claimSlot(): Promise<number> {
  await Deno.mkdir(SECOND_ENGINE_ROOT, { recursive: true, mode: 0o700 });
  for (let slot = 0; slot < SECOND_ENGINE_SLOTS; slot++) {
    try {
      await Deno.mkdir(`${SECOND_ENGINE_ROOT}/${slot}`, { mode: 0o700 });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw error;
    }
    await Deno.writeTextFile(`${SECOND_ENGINE_ROOT}/${slot}/owner`, `${Deno.pid}\n`);
    return slot;
  }
  throw new SecondEngineError(
    `Cannot start a second dockerd: all ${SECOND_ENGINE_SLOTS} slots in ${SECOND_ENGINE_ROOT} are taken`,
  );
}

export async function createNetns(slot: number): Promise<void> {
  const netns = `bbe2-${slot}`;
  const host = `bbe2h${slot}`;
  const peer = `bbe2n${slot}`;
  // Left by a run that died between claiming this slot and removing it: ours to replace.
  await ip(["netns", "del", netns], { ignoreFailure: true });
  await ip(["link", "del", host], { ignoreFailure: true });
  await ip(["netns", "add", netns]);
  await ip(["link", "add", host, "type", "veth", "peer", "name", peer, "netns", netns]);
  await ip(["addr", "add", `198.18.${slot}.1/30`, "dev", host]);
  await ip(["link", "set", host, "up"]);
  await ip(["-n", netns, "link", "set", "lo", "up"]);
  await ip(["-n", netns, "addr", "add", `198.18.${slot}.2/30`, "dev", peer]);
  await ip(["-n", netns, "link", "set", peer, "up"]);
  await ip(["-n", netns, "route", "add", "default", "via", `198.18.${slot}.1`]);
}

/** Runs `ip`; a failure throws unless ignored. */
export async function ip(
  args: string[],
  options: { ignoreFailure?: boolean } = {},
): Promise<string> {
  const out = await new Deno.Command("ip", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success && !options.ignoreFailure) {
    throw new SecondEngineError(
      `Cannot set up the second engine's network: \`ip ${args.join(" ")}\` failed: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Pids of the processes in a network namespace (dockerd, containerd, shims, containers). */
async function netnsPids(netns: string): Promise<number[]> {
  const text = await ip(["netns", "pids", netns], { ignoreFailure: true });
  return text.split(/\s+/).filter(Boolean).map(Number).filter(Number.isInteger);
}

/** Every descendant of `roots` (not the roots), parents before children. */
async function descendants(roots: number[]): Promise<number[]> {
  const children = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => "");
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ")" ends it.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!Number.isInteger(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry.name)]);
  }
  const out: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (roots.includes(child) || out.includes(child)) continue;
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(path)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops a slot's dockerd (after force-removing its containers), kills what is left in its
 * network namespace, deletes the namespace and veth, and removes the directory.
 * @returns the ms it took.
 */
export async function teardownSlot(slot: number, child?: Deno.ChildProcess): Promise<number> {
  const started = performance.now();
  const dir = `${SECOND_ENGINE_ROOT}/${slot}`;
  const netns = `bbe2-${slot}`;
  const pid = child?.pid ?? await readPid(`${dir}/docker.pid`);
  if (pid !== undefined && alive(pid)) {
    try {
      using client = await connectEngine({
        endpoint: { kind: "unix", path: `${dir}/docker.sock` },
        pingTimeoutMs: 2_000,
      });
      for (const c of await containerList(client, { all: true })) {
        await containerRemove(client, c.Id, { force: true, v: true }).catch(() => {});
      }
    } catch {
      // the daemon is not answering: signals below
    }
    signal(pid, "SIGTERM");
    if (!(await waitGone([pid], 20_000))) signal(pid, "SIGKILL");
  }
  if (child) await child.status;
  // What is left in its namespace (containerd, shims when dockerd died) and their children
  // (the containers, in namespaces of their own), children first.
  const inNetns = await netnsPids(netns);
  const left = [...(await descendants(inNetns)).reverse(), ...inNetns];
  for (const p of left) signal(p, "SIGKILL");
  await waitGone(left, 10_000);
  await ip(["netns", "del", netns], { ignoreFailure: true });
  await ip(["link", "del", `bbe2h${slot}`], { ignoreFailure: true });
  await Deno.remove(dir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  return Math.round(performance.now() - started);
}

/**
 * Tears down slots whose owner process is gone (a test run that was killed).
 * @returns how many.
 */
export async function sweepStaleSecondEngines(): Promise<number> {
  let swept = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(SECOND_ENGINE_ROOT));
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const slot = Number(entry.name);
    if (!entry.isDirectory || !Number.isInteger(slot)) continue;
    const owner = await readPid(`${SECOND_ENGINE_ROOT}/${slot}/owner`);
    if (owner !== undefined && alive(owner)) continue;
    if (owner === undefined) {
      // Claimed a moment ago and the owner file not written yet, or a crash in between: only
      // an old directory is stale.
      const info = await Deno.stat(`${SECOND_ENGINE_ROOT}/${slot}`).catch(() => undefined);
      if (!info?.mtime || Date.now() - info.mtime.getTime() < 60_000) continue;
    }
    await teardownSlot(slot);
    swept++;
  }
  return swept;
}
