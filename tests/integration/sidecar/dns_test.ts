import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  DNS_TYPE,
  encodeQuery,
  parseHeader,
  RCODE,
  readName,
} from "../../../src/sidecar/dns/packet.ts";
import { startSidecar } from "./sidecar_fixture.ts";

interface Answer {
  id: number;
  rcode: number;
  recursionAvailable: boolean;
  addresses: string[];
}

/** Sends one UDP message to 127.0.0.1:port and waits (with a deadline) for the answer. */
async function exchange(port: number, message: Uint8Array, timeoutMs = 30_000): Promise<Answer> {
  const socket = dgram.createSocket("udp4");
  try {
    const reply = await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`No DNS answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.on("message", (bytes) => {
        clearTimeout(timer);
        resolve(new Uint8Array(bytes));
      });
      socket.on("error", reject);
      socket.send(message, port, "127.0.0.1");
    });
    const header = parseHeader(reply);
    const addresses: string[] = [];
    if (header.qdcount === 1) {
      let at = readName(reply, 12).end + 4;
      for (let i = 0; i < header.ancount; i++) {
        addresses.push([...reply.subarray(at + 12, at + 16)].join("."));
        at += 16;
      }
    }
    return {
      id: header.id,
      rcode: reply[3] & 0x0f,
      recursionAvailable: (reply[3] & 0x80) !== 0,
      addresses,
    };
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

const query = (id: number, name: string, type: number = DNS_TYPE.A) =>
  encodeQuery({ id, name, type });

Deno.test("the DNS responder answers bundle names with the internal address, refuses the rest", async () => {
  await using sidecar = await startSidecar();
  const port = await sidecar.port("dns");

  const egress = await exchange(port, query(101, "egress"));
  assert.deepEqual(egress, {
    id: 101,
    rcode: RCODE.NOERROR,
    recursionAvailable: false,
    addresses: ["127.0.0.1"],
  });
  for (const name of ["git-gate", "SUPERVISE", "forge."]) {
    assert.deepEqual((await exchange(port, query(102, name))).addresses, ["127.0.0.1"], name);
  }

  const refused = await exchange(port, query(103, "example.test"));
  assert.deepEqual(refused, {
    id: 103,
    rcode: RCODE.REFUSED,
    recursionAvailable: false,
    addresses: [],
  });
  assert.equal((await exchange(port, query(104, "egress.example.test"))).rcode, RCODE.REFUSED);
  assert.equal((await exchange(port, query(105, "egress", 16))).rcode, RCODE.REFUSED, "TXT");

  const aaaa = await exchange(port, query(106, "egress", DNS_TYPE.AAAA));
  assert.equal(aaaa.rcode, RCODE.NOERROR);
  assert.deepEqual(aaaa.addresses, []);
});

Deno.test("the DNS responder survives malformed packets (FORMERR, then answers again)", async () => {
  await using sidecar = await startSidecar();
  const port = await sidecar.port("dns");
  const loop = new Uint8Array([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]);
  const formerr = await exchange(port, loop);
  assert.equal(formerr.id, 7);
  assert.equal(formerr.rcode, RCODE.FORMERR);
  await new Promise<void>((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.send(new Uint8Array([1, 2, 3]), port, "127.0.0.1", () => socket.close(() => resolve()));
  });
  assert.deepEqual((await exchange(port, query(8, "egress"))).addresses, ["127.0.0.1"]);
});

Deno.test("the DNS responder answers SERVFAIL for bundle names without an internal subnet", async () => {
  await using sidecar = await startSidecar({ env: { BOT_BOTTLE_INTERNAL_SUBNET: "" } });
  const port = await sidecar.port("dns");
  assert.equal((await exchange(port, query(9, "egress"))).rcode, RCODE.SERVFAIL);
  assert.equal((await exchange(port, query(10, "example.test"))).rcode, RCODE.REFUSED);
});

Deno.test("refused queries are logged at level 2 only", async () => {
  await using sidecar = await startSidecar();
  const port = await sidecar.port("dns");
  await using bridge = sidecar.bridge();
  await bridge.next("hello");
  await exchange(port, query(11, "level-one.example.test"));
  const config = {
    slug: "dns",
    egressLog: 2,
    routes: [],
    slots: {},
    canary: "c",
    knownSecrets: [],
    ca: null,
    extraCaPem: null,
    gitGate: [],
  };
  await bridge.send({ type: "config", id: "c", config });
  await bridge.next("applied");
  await exchange(port, query(12, "level-two.example.test"));
  const line = await sidecar.waitForLog(
    (l) => l.daemon === "dns" && l.event === "refused",
    "dns refused",
  );
  assert.equal(line.name, "level-two.example.test");
  assert.equal(line.type, 1);
  assert.ok(!sidecar.stderr.includes("level-one"), "nothing logged at level 1");
});

Deno.test("a known secret or the canary in a refused query name is masked in the log, in any case", async () => {
  await using sidecar = await startSidecar();
  const port = await sidecar.port("dns");
  await using bridge = sidecar.bridge();
  await bridge.next("hello");
  const known = "kn0wnlabelsecret";
  const canary = "canarylabel7x";
  await bridge.send({
    type: "config",
    id: "c",
    config: {
      slug: "dns",
      egressLog: 2,
      routes: [],
      slots: {},
      canary,
      knownSecrets: [known],
      ca: null,
      extraCaPem: null,
      gitGate: [],
    },
  });
  await bridge.next("applied");
  await exchange(port, query(13, `x.${known.toUpperCase()}.example.test`));
  await exchange(port, query(14, `${canary}.example.test`));
  for (const id of ["x.<secret>.example.test", "<secret>.example.test"]) {
    await sidecar.waitForLog(
      (l) => l.daemon === "dns" && l.event === "refused" && l.name === id,
      `dns refused ${id}`,
    );
  }
  assert.ok(!sidecar.stderr.toLowerCase().includes(known), sidecar.stderr);
  assert.ok(!sidecar.stderr.includes(canary), sidecar.stderr);
});
