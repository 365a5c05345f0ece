/**
 * The sidecar's daemons listen on the internal network only (SPEC §6.4): the agent reaches
 * `egress:9099`, `git-gate:9080` and `supervise:9100`, while the host, which reaches the
 * sidecar's address on the egress network, is refused on every one of those ports. Bound to
 * every address, the host (or any container on the egress network) could use the bottle's
 * proxy with its token injection, its git-gate with the deploy key, its MCP server. The config
 * volume beside them carries the route table at `current-config/` and the gate settings (§6.3).
 */
import assert from "node:assert/strict";
import { bottleHome } from "../helpers/bottle_home.ts";
import { spawnCli } from "../helpers/cli.ts";
import { engineTest } from "../helpers/engine.ts";
import {
  connectEngine,
  containerInspect,
  containerList,
  execRun,
  LABELS,
  objectNames,
} from "../../src/engine/mod.ts";

const PORTS = { egress: 9099, "git-gate": 9080, supervise: 9100 };

/** How a TCP connection from this process to `hostname:port` ends. */
async function tcpOutcome(hostname: string, port: number): Promise<"open" | "refused" | string> {
  try {
    const conn = await Deno.connect({ hostname, port });
    conn.close();
    return "open";
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return "refused";
    return error instanceof Error ? error.name : String(error);
  }
}

engineTest(
  "the sidecar's listeners answer the agent on the internal network, not the host on the egress network",
  async () => {
    await using home = await bottleHome();
    const untilReleased = "timeout 600 bash -c 'until [ -e ~/release ]; do sleep 0.2; done'";
    await using cli = await spawnCli(
      ["start", "shell", "--headless", "--prompt", untilReleased],
      { env: home.env },
    );
    await cli.waitFor(/agent provisioned/);
    const slug = /recorded the bottle \(([^)]+)\)/.exec(cli.stderr())![1];
    using client = await connectEngine();
    const containers = await containerList(client, { labels: { [LABELS.slug]: slug } });
    const sidecar = containers.find((c) => c.Labels?.[LABELS.service] === "sidecar");
    const agent = containers.find((c) => c.Labels?.[LABELS.service] === "agent");
    assert.ok(sidecar && agent, "both containers run");

    const networks = (await containerInspect(client, sidecar.Id)).NetworkSettings.Networks;
    const egressAddress = networks[objectNames.egressNetwork(slug)]?.IPAddress;
    assert.ok(egressAddress, `the sidecar is on the egress network: ${JSON.stringify(networks)}`);
    for (const [name, port] of Object.entries(PORTS)) {
      // "refused" (not a timeout or no route) also shows the host does reach that address.
      assert.equal(
        await tcpOutcome(egressAddress, port),
        "refused",
        `${name}:${port} answers the host at the sidecar's egress-network address ${egressAddress}`,
      );
    }

    const probe = Object.entries(PORTS).map(([name, port]) =>
      `timeout 20 bash -c 'exec 3<>/dev/tcp/${name}/${port}' && echo ${name}=open || echo ${name}=closed`
    ).join("; ");
    const inside = await execRun(client, agent.Id, ["bash", "-c", probe], { user: "1000:1000" });
    for (const name of Object.keys(PORTS)) {
      assert.match(inside.stdoutText, new RegExp(`^${name}=open$`, "m"), inside.stderrText);
    }

    const release = await execRun(client, agent.Id, ["bash", "-lc", "touch ~/release"], {
      user: "1000:1000",
    });
    assert.equal(release.exitCode, 0, release.stderrText);
    const done = await cli.done();
    assert.equal(done.code, 0, done.stderr);
  },
);

engineTest(
  "the agent reads the route table at current-config/ and the gate settings on the config volume",
  async () => {
    await using home = await bottleHome();
    const probe = [
      "cmp -s /etc/bot-bottle/routes.json /etc/bot-bottle/current-config/routes.json && echo current=same",
      "echo gate=$(tr -d ' \\n' < /etc/bot-bottle/gate.json)",
    ].join("; ");
    const result = await home.cli(["start", "shell", "--headless", "--prompt", probe]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^current=same$/m);
    assert.match(result.stdout, /^gate=\{"repos":\[\]\}$/m);
  },
);
