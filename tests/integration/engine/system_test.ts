import assert from "node:assert/strict";
import {
  connectEngine,
  containerCreate,
  containerStart,
  type EngineLogEntry,
  EngineUnavailableError,
  execRun,
  systemInfo,
  systemPing,
  systemVersion,
} from "../../../src/engine/mod.ts";
import { engineFixture, engineTest } from "../../helpers/engine.ts";
import { MAX_API_VERSION } from "../../../src/version.ts";

engineTest(
  "connectEngine negotiates min(engine, MAX_API_VERSION) and reads the server version",
  async () => {
    await using fx = await engineFixture();
    const ping = await systemPing(fx.client);
    assert.equal(ping.ok, true);
    assert.ok(ping.apiVersion, "the ping carries API-Version");
    const expected = Number(ping.apiVersion!.split(".")[1]) > Number(MAX_API_VERSION.split(".")[1])
      ? MAX_API_VERSION
      : ping.apiVersion;
    assert.equal(fx.client.apiVersion, expected);
    const version = await systemVersion(fx.client);
    assert.equal(fx.client.serverVersion, version.Version);
    assert.match(version.Version, /^\d+\.\d+/);
  },
);

engineTest("systemInfo exposes the runtimes so runsc detection is a key lookup", async () => {
  await using fx = await engineFixture();
  const info = await systemInfo(fx.client);
  assert.equal(typeof info.Runtimes, "object");
  assert.ok(Object.keys(info.Runtimes).includes("runc"), "runc is always there");
  for (const runtime of Object.values(info.Runtimes)) assert.equal(typeof runtime, "object");
  assert.ok(info.ServerVersion);
});

engineTest(
  "each engine call is logged with method, versioned path, id, status and ms",
  async () => {
    const entries: EngineLogEntry[] = [];
    using client = await connectEngine({ logger: (e) => entries.push(e) });
    await systemInfo(client);
    assert.deepEqual(entries.map((e) => [e.method, e.path, e.status]), [
      ["GET", "/_ping", 200],
      ["GET", `/v${client.apiVersion}/version`, 200],
      ["GET", `/v${client.apiVersion}/info`, 200],
    ]);
    assert.ok(entries.every((e) => Number.isInteger(e.ms) && e.ms >= 0));
  },
);

engineTest(
  "DOCKER_HOST pointing at a missing socket fails with exit 4, a reason and a hint",
  async () => {
    const env = (name: string) => name === "DOCKER_HOST" ? "unix:///nonexistent.sock" : undefined;
    await assert.rejects(connectEngine({ env }), (e: unknown) => {
      assert.ok(e instanceof EngineUnavailableError);
      assert.equal(e.exitCode, 4);
      assert.equal(
        e.message,
        "Cannot connect to the Docker engine at unix:///nonexistent.sock: no such socket, is it running?",
      );
      assert.match(e.hint ?? "", /DOCKER_HOST/);
      return true;
    });
  },
);

engineTest("a socket that refuses connections is reported as refused", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/refused.sock`;
  await Deno.writeTextFile(path, ""); // connect(2) to a non-socket file fails with ECONNREFUSED
  try {
    const env = (name: string) => name === "DOCKER_HOST" ? `unix://${path}` : undefined;
    await assert.rejects(connectEngine({ env }), (e: unknown) => {
      assert.ok(e instanceof EngineUnavailableError);
      assert.equal(
        e.message,
        `Cannot connect to the Docker engine at unix://${path}: connection refused, is it running?`,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

engineTest(
  "an engine that reports API 1.40 is refused with exit 4 naming both versions",
  async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/old.sock`;
    const server = Deno.serve(
      { path, transport: "unix", onListen: () => {} },
      () => new Response("OK", { headers: { "API-Version": "1.40" } }),
    );
    try {
      const env = (name: string) => name === "DOCKER_HOST" ? `unix://${path}` : undefined;
      await assert.rejects(connectEngine({ env }), (e: unknown) => {
        assert.ok(e instanceof EngineUnavailableError);
        assert.equal(e.exitCode, 4);
        assert.match(e.message, /"1\.40" is older than "1\.41"/);
        return true;
      });
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

engineTest("discovery without DOCKER_HOST finds the system socket", async () => {
  const env = (name: string) => name === "HOME" ? "/nonexistent-home" : undefined;
  using client = await connectEngine({ env });
  assert.equal(client.label, "unix:///var/run/docker.sock");
});

engineTest("a socket the user may not open gives the docker-group hint", async (t) => {
  if (Deno.uid() !== 0) {
    await t.step({ name: "needs root to drop to another uid", ignore: true, fn: () => {} });
    return;
  }
  const dir = await Deno.makeTempDir();
  const path = `${dir}/private.sock`;
  const server = Deno.serve(
    { path, transport: "unix", onListen: () => {} },
    () => new Response("OK"),
  );
  await Deno.chmod(path, 0o600);
  await Deno.chmod(dir, 0o755);
  const script = `${dir}/probe.ts`;
  const clientModule = new URL("../../../src/engine/client.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { connectEngine } from "${clientModule}";
try { await connectEngine({ env: (n) => n === "DOCKER_HOST" ? "unix://${path}" : undefined }); console.log("connected"); }
catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, hint: e.hint, exitCode: e.exitCode })); }`,
  );
  await Deno.chmod(script, 0o644);
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-config", "-A", script],
      uid: 65534,
      gid: 65534,
      env: { DENO_DIR: `${dir}/deno`, HOME: dir, DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout).trim();
    if (!text.startsWith("{")) {
      // The sandbox user cannot run deno here (e.g. /work not readable): say so, do not pass.
      await t.step({
        name: `cannot run as uid 65534: ${new TextDecoder().decode(output.stderr).slice(0, 200)}`,
        ignore: true,
        fn: () => {},
      });
      return;
    }
    const result = JSON.parse(text);
    assert.equal(result.name, "EngineUnavailableError");
    assert.equal(result.exitCode, 4);
    assert.equal(
      result.message,
      `Cannot connect to the Docker engine at unix://${path}: permission denied`,
    );
    assert.match(result.hint, /docker group/);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A TCP → unix-socket relay, so the TCP transport (fetch and hijack) meets the real engine. */
function tcpRelay(socketPath: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
      await to.closeWrite();
    } catch {
      // the other side went away
    }
  };
  const serving = (async () => {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ transport: "unix", path: socketPath });
      open.add(conn).add(upstream);
      Promise.all([pump(conn, upstream), pump(upstream, conn)]).finally(() => {
        for (const c of [conn, upstream]) {
          try {
            c.close();
          } catch { /* closed */ }
          open.delete(c);
        }
      });
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await serving.catch(() => {});
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

engineTest(
  "DOCKER_HOST=tcp:// drives plain calls and hijacked exec stdin over TCP",
  async () => {
    const relay = tcpRelay("/var/run/docker.sock");
    try {
      const env = (name: string) =>
        name === "DOCKER_HOST" ? `tcp://127.0.0.1:${relay.port}` : undefined;
      await using fx = await engineFixture();
      using client = await connectEngine({ env });
      assert.equal(client.label, `tcp://127.0.0.1:${relay.port}`);
      assert.equal(client.apiVersion, fx.client.apiVersion);
      const { Id } = await containerCreate(client, fx.name("tcp"), {
        Image: "debian:bookworm-slim",
        Cmd: ["sleep", "300"],
        Labels: fx.labels,
      });
      await containerStart(client, Id);
      const result = await execRun(client, Id, ["sh", "-c", "cat; echo done >&2"], {
        stdin: "over tcp",
      });
      assert.deepEqual([result.exitCode, result.stdoutText, result.stderrText], [
        0,
        "over tcp",
        "done\n",
      ]);
    } finally {
      await relay.close();
    }
  },
  // The relay's pooled keep-alive connections close asynchronously after the client does.
  { sanitizeOps: false, sanitizeResources: false },
);
