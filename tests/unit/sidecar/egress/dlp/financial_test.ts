/**
 * The `financial` detector and its checksums: each identifier found alone and inside text, and
 * the near miss of each checksum (one digit or char off) never.
 */
import assert from "node:assert/strict";
import { bip39Words, mnemonicValid } from "../../../../../src/sidecar/egress/dlp/bip39.ts";
import {
  base58Kind,
  cardNetwork,
  ibanValid,
  luhnValid,
  segwitAddressValid,
} from "../../../../../src/sidecar/egress/dlp/checksums.ts";
import { financialMatches } from "../../../../../src/sidecar/egress/dlp/financial.ts";
import { hex } from "../../../../../src/sidecar/egress/dlp/bytes.ts";
import { sha256 } from "../../../../../src/sidecar/egress/dlp/sha256.ts";
import { compileSecrets, scanSegments } from "../../../../../src/sidecar/egress/dlp/mod.ts";
import {
  BASE58_ALPHABET,
  BECH32_ALPHABET,
  changeChar,
  ibanFor,
  legacyAddress,
  luhnBroken,
  luhnComplete,
  mnemonic,
  mnemonicBroken,
  segwitAddress,
  wif,
  xprv,
} from "./financial_samples.ts";

const rules = (text: string) => financialMatches(text).map((m) => m.rule);
const found = (text: string) =>
  financialMatches(text).map((m) => [m.rule, text.slice(m.start, m.end)]);

Deno.test("sha256 matches the FIPS 180-4 test vectors", () => {
  const enc = new TextEncoder();
  assert.equal(
    hex(sha256(enc.encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    hex(sha256(enc.encode(""))),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    hex(sha256(enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("the vendored BIP-39 list has 2048 words and passes the published test vector", () => {
  const words = bip39Words();
  assert.equal(words.size, 2048);
  assert.equal(words.get("abandon"), 0);
  assert.equal(words.get("zoo"), 2047);
  // BIP-39 test vector: all-zero entropy is "abandon" ×11 + "about".
  const vector = [...Array(11).fill("abandon"), "about"].map((w) => words.get(w)!);
  assert.ok(mnemonicValid(vector));
  assert.ok(!mnemonicValid([...Array(12).fill("abandon")].map((w) => words.get(w)!)));
});

Deno.test("cards: every major issuer range with a valid Luhn digit is found, the near miss is not", () => {
  const issuers: [string, number, string][] = [
    ["4", 16, "Visa"],
    ["4", 13, "Visa"],
    ["51", 16, "Mastercard"],
    ["2720", 16, "Mastercard"],
    ["34", 15, "American Express"],
    ["37", 15, "American Express"],
    ["6011", 16, "Discover"],
    ["65", 19, "Discover"],
    ["3530", 16, "JCB"],
    ["36", 14, "Diners Club"],
    ["62", 16, "UnionPay"],
  ];
  issuers.forEach(([prefix, length, network], k) => {
    const card = luhnComplete(prefix, length, k + 1);
    assert.equal(cardNetwork(card), network, card.slice(0, 4));
    assert.ok(luhnValid(card));
    assert.equal(cardNetwork(luhnBroken(card)), null, `${network} near miss`);
    assert.deepEqual(rules(`card: ${card}, exp 12/28`), ["payment_card"], network);
    assert.deepEqual(rules(`card: ${luhnBroken(card)}, exp 12/28`), [], `${network} near miss`);
  });
});

Deno.test("cards: the 4111… test number is a card; grouped, dashed and with a CVV after it", () => {
  const test = "4111" + "1111" + "1111" + "1111";
  assert.deepEqual(rules(test), ["payment_card"]);
  const grouped = test.replace(/(\d{4})(?=\d)/g, "$1 ");
  assert.deepEqual(found(`pay ${grouped} 123`), [["payment_card", grouped]]);
  const dashed = test.replace(/(\d{4})(?=\d)/g, "$1-");
  assert.deepEqual(found(`"card":"${dashed}"`), [["payment_card", dashed]]);
  assert.deepEqual(found(`name,card\nx,${test}\n`), [["payment_card", test]]);
});

Deno.test("cards: only the groupings cards are written in; a Luhn-valid hex dump is not a card", () => {
  const visa = "4111" + "1111" + "1111" + "1111";
  const amex = "3782" + "822463" + "10005";
  const diners = "3056" + "930902" + "5904";
  // Written as cards are: fours (the last group shorter), Amex 4-6-5, Diners 4-6-4.
  assert.deepEqual(found(`n ${amex.slice(0, 4)} ${amex.slice(4, 10)} ${amex.slice(10)}`), [[
    "payment_card",
    `${amex.slice(0, 4)} ${amex.slice(4, 10)} ${amex.slice(10)}`,
  ]]);
  assert.deepEqual(rules(`${diners.slice(0, 4)}-${diners.slice(4, 10)}-${diners.slice(10)}`), [
    "payment_card",
  ]);
  const nineteen = luhnComplete("6212", 19);
  const nineteenGrouped = nineteen.replace(/(\d{4})(?=\d)/g, "$1 ");
  assert.deepEqual(found(nineteenGrouped), [["payment_card", nineteenGrouped]]);
  // A card after a short number in the same run is found from its first group.
  assert.deepEqual(found(`12 ${visa.replace(/(\d{4})(?=\d)/g, "$1 ")}`), [[
    "payment_card",
    visa.replace(/(\d{4})(?=\d)/g, "$1 "),
  ]]);
  // The same digits in pairs or threes: a hex dump, a list of numbers.
  for (
    const text of [
      visa.replace(/(\d{2})(?=\d)/g, "$1-"),
      visa.replace(/(\d{2})(?=\d)/g, "$1 "),
      visa.replace(/(\d{3})(?=\d)/g, "$1 "),
      "67-68-70-5f-52-33-61-4c-54-30-6b-65-6e-41-62-43-64-45-66-47-68-49", // hex of a token
    ]
  ) assert.deepEqual(rules(text), [], text);
});

Deno.test("cards: numbers that are not cards are not reported", () => {
  for (
    const text of [
      "1700000000000", // a millisecond timestamp
      "1234567890123456", // no issuer starts with 1
      luhnComplete("4", 17), // Visa has no 17-digit numbers
      "9" + luhnComplete("4", 16), // a longer number
      "4111 1111-1111 1111", // mixed separators
      "3.4111111111111111", // inside a decimal
      "v4111111111111111", // inside a word
    ]
  ) assert.deepEqual(rules(text), [], text);
});

Deno.test("IBAN: valid in every country form, compact and grouped; one digit off is not", () => {
  const cases = [
    ibanFor("DE", "370400440532013000"),
    ibanFor("GB", "WEST12345698765432"),
    ibanFor("FR", "20041010050500013M02606"),
    ibanFor("NL", "ABNA0417164300"),
  ];
  for (const iban of cases) {
    assert.ok(ibanValid(iban), iban);
    assert.deepEqual(found(`IBAN ${iban} thanks`), [["iban", iban]]);
    const grouped = iban.replace(/(.{4})(?=.)/g, "$1 ");
    assert.deepEqual(found(`IBAN: ${grouped} and more`), [["iban", grouped]]);
    assert.deepEqual(rules(iban.toLowerCase()), ["iban"]);
    const off = changeChar(iban, 6, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    assert.ok(!ibanValid(off));
    assert.deepEqual(rules(`IBAN ${off}`), [], off.slice(0, 4));
  }
  // A wrong length for the country, and an unknown country.
  assert.deepEqual(rules(ibanFor("DE", "3704004405320130001")), []);
  assert.deepEqual(rules(ibanFor("ZZ", "370400440532013000")), []);
});

Deno.test("crypto: WIF keys, xprv, P2PKH/P2SH and segwit addresses are found; a char off is not", () => {
  const samples: [string, string][] = [
    [wif(1, true), "crypto_private_key"],
    [wif(2, false), "crypto_private_key"],
    [xprv(3), "crypto_extended_private_key"],
    [legacyAddress(0x00, 4), "crypto_address"],
    [legacyAddress(0x05, 5), "crypto_address"],
    [segwitAddress(0, 6), "crypto_address"],
    [segwitAddress(1, 7), "crypto_address"],
    [segwitAddress(0, 8, "tb"), "crypto_address"],
  ];
  for (const [value, rule] of samples) {
    assert.deepEqual(found(`send to ${value} now`), [[rule, value]], value.slice(0, 6));
    const alphabet = value.startsWith("bc1") || value.startsWith("tb1")
      ? BECH32_ALPHABET
      : BASE58_ALPHABET;
    const off = changeChar(value, -3, alphabet);
    assert.deepEqual(rules(off), [], `near miss of ${rule}`);
  }
  assert.equal(base58Kind(wif(9)), "wif");
  assert.ok(segwitAddressValid(segwitAddress(0, 10)));
  const mixed = segwitAddress(0, 10);
  assert.ok(!segwitAddressValid(mixed.slice(0, 12) + mixed.slice(12).toUpperCase()), "mixed case");
});

Deno.test("seed phrases: 12 and 24 words, in prose, CSV and a JSON array; a wrong checksum is not", () => {
  for (const words of [12, 15, 18, 21, 24]) {
    const phrase = mnemonic(words, words);
    assert.deepEqual(found(`my seed: ${phrase}.`), [["seed_phrase", phrase]], `${words} words`);
    assert.deepEqual(rules(mnemonicBroken(phrase)), [], `${words} words, last word changed`);
  }
  const twelve = mnemonic(12, 40).split(" ");
  assert.deepEqual(rules(JSON.stringify({ words: twelve })), ["seed_phrase"]);
  assert.deepEqual(rules(twelve.join(",")), ["seed_phrase"]);
  assert.deepEqual(rules(twelve.map((w, i) => `${i + 1}. ${w}`).join("\n")), ["seed_phrase"]);
  // Eleven words are not a mnemonic; upper case is not the list.
  assert.deepEqual(rules(twelve.slice(0, 11).join(" ")), []);
  assert.deepEqual(rules(twelve.join(" ").toUpperCase()), []);
  // A few list words around the phrase ("my seed is …") do not hide it.
  assert.deepEqual(rules(`seed abandon ${twelve.join(" ")} able`), ["seed_phrase"]);
});

Deno.test("seed phrases: prose made of list words rarely has a valid checksum, and is not scanned as one", () => {
  // English that happens to be list words, 12+ in a row, with no valid window.
  const prose = "you can also add more words about this action because they are common and " +
    "simple enough for anyone";
  const valid = financialMatches(prose);
  assert.deepEqual(valid, []);
});

Deno.test("financial findings go through scanSegments with the detector and rule named, never the value", () => {
  const secrets = compileSecrets({ knownSecrets: [], slotValues: [], canary: "" });
  const card = luhnComplete("4", 16, 77);
  const findings = scanSegments([{ location: "query", text: `card=${card}` }], {
    detectors: ["financial"],
    secrets,
  });
  assert.equal(findings.length, 1);
  assert.equal(findings[0].detector, "financial");
  assert.equal(findings[0].rule, "payment_card");
  assert.ok(!findings[0].context.includes(card));
  assert.deepEqual(
    scanSegments([{ location: "query", text: `card=${card}` }], {
      detectors: ["token_patterns", "known_secrets", "credentials"],
      secrets,
    }),
    [],
    "off unless the route turns financial on",
  );
});

Deno.test("financial detection stays linear on adversarial inputs (long digit runs, list words)", () => {
  const words = [...bip39Words().keys()];
  const long = Array.from({ length: 40000 }, (_, i) => words[i % 2048]).join(" ");
  const digits = "4".repeat(1 << 18);
  for (const text of [long, digits, "1 ".repeat(1 << 17)]) financialMatches(text);
});

Deno.test("financial: found at every offset of a long text (the sampled reads miss none)", () => {
  const filler = "the build ran 42 steps; see log-7 and notes. ".repeat(4);
  const samples: [string, string][] = [
    ["payment_card", luhnComplete("4111", 16, 3)],
    ["payment_card", luhnComplete("5500", 16, 4).replace(/(\d{4})(?=\d)/g, "$1 ")],
    ["payment_card", luhnComplete("3400", 15, 5).replace(/(\d{4})(?=\d)/g, "$1-")],
    ["crypto_address", legacyAddress(0x00, 6)],
    ["seed_phrase", mnemonic(12, 7)],
  ];
  for (const [rule, value] of samples) {
    for (let at = 0; at < 60; at++) {
      // Newlines around it: a number of the filler next to a card would join its digit chain.
      const text = `${filler.slice(0, at)}\n${value}\n${filler.slice(at)}`;
      const hits = found(text).filter(([r]) => r === rule);
      assert.deepEqual(hits, [[rule, value]], `${rule} after ${at} chars`);
    }
  }
});
