import assert from "node:assert/strict";
import {
  connectEngine,
  containerCreate,
  containerInspect,
  containerList,
  containerStart,
  EngineNotFoundError,
  EngineUnavailableError,
  execRun,
  imageInspect,
  imageList,
  networkCreate,
  networkInspect,
} from "../../../src/engine/mod.ts";
import { createEngineCa, issueEngineCert, writeCertDir } from "../../../scripts/engine_tls.ts";
import { engineTest, TEST_SESSION_LABEL } from "../../helpers/engine.ts";
import {
  SECOND_ENGINE_ROOT,
  SECOND_ENGINE_TLS_PORT,
  type SecondEngine,
  startSecondEngine,
  sweepStaleSecondEngines,
} from "../../helpers/second_engine.ts";
import { withDeadline } from "../../helpers/deadline.ts";

const SESSION = `${Date.now()}-${Deno.pid}-e2`;
const LABELS = { [TEST_SESSION_LABEL]: SESSION };

engineTest(
  "a second dockerd has its own socket, TLS listener, images and network, and leaves nothing",
  async (t) => {
    const engine = await startSecondEngine();
    console.log(
      `second engine slot ${engine.slot}: dockerd up in ${engine.timings.startMs} ms; ` +
        `images ensured on the first engine in ${engine.timings.ensureMs} ms; ` +
        `${engine.images.length} images (${(engine.timings.copyBytes / 1e6).toFixed(0)} MB) ` +
        `copied in ${engine.timings.copyMs} ms`,
    );
    let teardownMs = 0;
    try {
      await t.step("it answers over its unix socket and over TLS tcp", async () => {
        using unix = await engine.connect();
        using tls = await engine.connect({ tls: true });
        assert.equal(unix.label, `unix://${engine.dir}/docker.sock`);
        assert.equal(tls.label, `tcp://${engine.address}:${SECOND_ENGINE_TLS_PORT}`);
        assert.match(tls.apiVersion, /^1\.\d+$/);
        const [a, b] = await Promise.all([
          unix.requestJson<{ ID: string; DockerRootDir: string }>("GET", "/info", {
            action: "info",
          }),
          tls.requestJson<{ ID: string; DockerRootDir: string }>("GET", "/info", {
            action: "info",
          }),
        ]);
        assert.equal(a.ID, b.ID, "both listeners are the same daemon");
        assert.equal(a.DockerRootDir, `${engine.dir}/data`);
        using first = await connectEngine();
        const firstInfo = await first.requestJson<{ ID: string }>("GET", "/info", {
          action: "info",
        });
        assert.notEqual(firstInfo.ID, a.ID, "a daemon of its own, not the first one");
      });

      await t.step("it has the copied images, the same ones as the first engine", async () => {
        using second = await engine.connect();
        using first = await connectEngine();
        assert.ok(
          engine.images.some((n) => n.startsWith("bot-bottle-shell:")),
          engine.images.join(),
        );
        assert.ok(engine.images.some((n) => n.startsWith("bot-bottle-sidecar:")));
        assert.ok(engine.images.length >= 4, "the two bottle images and their bases");
        for (const name of engine.images) {
          const [there, here] = await Promise.all([
            imageInspect(second, name),
            imageInspect(first, name),
          ]);
          assert.equal(there.Id, here.Id, `${name} has the same id on both engines`);
          assert.ok(there.RepoTags.includes(name));
        }
        const all = await imageList(second);
        const tags = all.flatMap((i) => i.RepoTags ?? []);
        assert.deepEqual(tags.sort(), [...engine.images].sort(), "nothing else was loaded");
      });

      await t.step(
        "a container runs on its own network, reaches the host, and the first engine sees none of it",
        async () => {
          using second = await engine.connect({ tls: true });
          using first = await connectEngine();
          const shell = engine.images.find((n) => n.startsWith("bot-bottle-shell:"))!;
          const net = await networkCreate(second, `bbtest-e2-net-${SESSION}`, {
            Driver: "bridge",
            Labels: LABELS,
          });
          const netInfo = await networkInspect(second, net.Id);
          const subnet = netInfo.IPAM?.Config?.[0]?.Subnet ?? "";
          assert.match(subnet, /^10\.216\.\d+\.0\/24$/, "from the second engine's own pool");
          const { Id } = await containerCreate(second, `bbtest-e2-ctr-${SESSION}`, {
            Image: shell,
            Cmd: ["sleep", "infinity"],
            Labels: LABELS,
            HostConfig: { NetworkMode: `bbtest-e2-net-${SESSION}` },
          });
          await containerStart(second, Id);
          const ipOut = await execRun(second, Id, ["hostname", "-i"]);
          assert.match(ipOut.stdoutText.trim(), /^10\.216\.\d+\.\d+$/);
          // A hijacked stream (exec with stdin) over TLS.
          const echoed = await execRun(second, Id, ["cat"], { stdin: "through TLS\n" });
          assert.equal(echoed.stdoutText, "through TLS\n");

          // The host's listeners are reachable from its containers at hostAddress.
          using listener = Deno.listen({ hostname: engine.hostAddress, port: 0 });
          const accepted = (async () => {
            const conn = await listener.accept();
            const buf = new Uint8Array(64);
            const n = await conn.read(buf);
            conn.close();
            return new TextDecoder().decode(buf.subarray(0, n ?? 0));
          })();
          const port = (listener.addr as Deno.NetAddr).port;
          const sent = await execRun(second, Id, [
            "bash",
            "-c",
            `exec 3<>/dev/tcp/${engine.hostAddress}/${port}; echo hello-from-e2 >&3`,
          ]);
          assert.equal(sent.exitCode, 0, sent.stderrText);
          assert.equal(
            (await withDeadline(accepted, "the container's connection")).trim(),
            "hello-from-e2",
          );

          // The first engine has none of it, and the second lists only its own.
          await assert.rejects(containerInspect(first, Id), EngineNotFoundError);
          await assert.rejects(networkInspect(first, net.Id), EngineNotFoundError);
          const firstIds = (await containerList(first, { all: true })).map((c) => c.Id);
          assert.ok(!firstIds.includes(Id));
          const secondIds = (await containerList(second, { all: true })).map((c) => c.Id);
          assert.deepEqual(secondIds, [Id], "the second engine lists only its own container");

          // Its bridge lives in its namespace: not on the host, not in the host's iptables.
          const bridge = `br-${net.Id.slice(0, 12)}`;
          await assert.rejects(Deno.stat(`/sys/class/net/${bridge}`), Deno.errors.NotFound);
          const inNs = await run(["ip", "-n", engine.netns, "link", "show", bridge]);
          assert.match(inNs, new RegExp(bridge));
          const hostRules = (await run(["iptables", "-S"])) +
            (await run(["iptables", "-t", "nat", "-S"]));
          const nsRules = (await run(["ip", "netns", "exec", engine.netns, "iptables", "-S"])) +
            (await run(["ip", "netns", "exec", engine.netns, "iptables", "-t", "nat", "-S"]));
          assert.match(nsRules, new RegExp(bridge), "the second engine wrote its own rules");
          assert.doesNotMatch(hostRules, new RegExp(bridge), "the host's iptables are untouched");
          assert.doesNotMatch(hostRules, new RegExp(subnet.replace(/[./]/g, "\\$&")));
        },
      );

      await t.step("a client certificate from another CA is refused, clearly", async () => {
        const dir = await Deno.makeTempDir({ prefix: "bbtest-e2-rogue-" });
        try {
          const rogue = await createEngineCa({ name: "rogue CA" });
          const pair = await issueEngineCert(rogue, { kind: "client" });
          const realCa = await Deno.readTextFile(`${engine.certs!.clientDir}/ca.pem`);
          await writeCertDir(dir, realCa, pair);
          const endpoint = {
            kind: "tcp" as const,
            hostname: engine.address,
            port: SECOND_ENGINE_TLS_PORT,
            tls: { certPath: dir },
          };
          await assert.rejects(connectEngine({ endpoint }), (e: unknown) => {
            assert.ok(e instanceof EngineUnavailableError, String(e));
            assert.equal(e.exitCode, 4);
            assert.ok(
              e.message.includes(`tcp://${engine.address}:${SECOND_ENGINE_TLS_PORT}`),
              e.message,
            );
            assert.match(e.message, /TLS/);
            assert.match(e.hint ?? "", /DOCKER_CERT_PATH/);
            return true;
          });
          // The server's certificate checked against a CA that did not sign it: refused too.
          await writeCertDir(dir, rogue.certPem, pair);
          await assert.rejects(connectEngine({ endpoint }), (e: unknown) => {
            assert.ok(e instanceof EngineUnavailableError, String(e));
            assert.match(e.message, /TLS/);
            assert.match(e.hint ?? "", /DOCKER_CERT_PATH/);
            return true;
          });
          // Plain HTTP to the TLS port: refused with a hint to turn TLS on.
          await assert.rejects(
            connectEngine({ endpoint: { ...endpoint, tls: undefined } }),
            (e: unknown) => {
              assert.ok(e instanceof EngineUnavailableError, String(e));
              assert.match(e.hint ?? "", /DOCKER_TLS_VERIFY/);
              return true;
            },
          );
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });
    } finally {
      teardownMs = await engine.dispose();
    }
    console.log(`second engine torn down in ${teardownMs} ms`);
    await assertGone(engine);
  },
);

engineTest(
  "a killed run's second engine, even with a crashed dockerd and a running container, is swept",
  async () => {
    const helper = new URL("../../helpers/second_engine.ts", import.meta.url).href;
    const engineMod = new URL("../../../src/engine/mod.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { startSecondEngine } from "${helper}";
         import { containerCreate, containerInspect, containerStart } from "${engineMod}";
         const e = await startSecondEngine({ images: ["debian:bookworm-slim"], tls: false });
         const client = await e.connect();
         const { Id } = await containerCreate(client, "bbtest-e2-orphan", {
           Image: "debian:bookworm-slim", Cmd: ["sleep", "infinity"] });
         await containerStart(client, Id);
         const ctrPid = (await containerInspect(client, Id)).State.Pid;
         console.log(JSON.stringify({ slot: e.slot, pid: e.pid, dir: e.dir, netns: e.netns, ctrPid }));
         await new Promise(() => {});`,
      ],
      cwd: new URL("../../..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await withDeadline(reader.read(), "the child's engine", 120_000);
      if (done) break;
      line += value;
    }
    reader.releaseLock();
    // The owner dies without disposing, and its dockerd crashes: containerd, the shim and the
    // container are left running, with the namespace and the directory.
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
    assert.ok(line.includes("{"), "the child started its engine");
    const started = JSON.parse(line) as
      & Pick<SecondEngine, "slot" | "pid" | "dir" | "netns">
      & { ctrPid: number };
    assert.ok(started.dir.startsWith(`${SECOND_ENGINE_ROOT}/`));
    assert.ok(started.ctrPid > 0);
    Deno.kill(started.pid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while (await Deno.stat(`/proc/${started.pid}`).then(() => true, () => false)) {
      assert.ok(Date.now() < deadline, "dockerd did not die");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await Deno.stat(`/proc/${started.ctrPid}`);
    await Deno.stat(started.dir);

    assert.ok((await sweepStaleSecondEngines()) >= 1);
    await assert.rejects(Deno.stat(`/proc/${started.ctrPid}`), Deno.errors.NotFound);
    await assertGone(started);
  },
);

/** Runs a command; its stdout, or a failure with its stderr. */
async function run(cmd: string[]): Promise<string> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

/** No dockerd, no process of its namespace, no mount, no namespace, no veth, no directory. */
async function assertGone(
  engine: Pick<SecondEngine, "slot" | "pid" | "dir" | "netns">,
): Promise<void> {
  await assert.rejects(Deno.stat(`/proc/${engine.pid}`), Deno.errors.NotFound, "dockerd is gone");
  await assert.rejects(Deno.stat(engine.dir), Deno.errors.NotFound, "its directory is gone");
  await assert.rejects(Deno.stat(`/run/netns/${engine.netns}`), Deno.errors.NotFound);
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    assert.ok(!cmdline.includes(engine.dir), `process ${entry.name} still uses ${engine.dir}`);
    const mounts = await Deno.readTextFile(`/proc/${entry.name}/mountinfo`).catch(() => "");
    assert.ok(
      !mounts.includes(engine.dir),
      `a mount under ${engine.dir} is left (pid ${entry.name})`,
    );
  }
  const deadline = Date.now() + 10_000;
  while (await Deno.stat(`/sys/class/net/bbe2h${engine.slot}`).then(() => true, () => false)) {
    assert.ok(Date.now() < deadline, "the host end of the veth pair is left");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
