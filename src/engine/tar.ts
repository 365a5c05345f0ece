/**
 * A small tar writer and reader for build contexts and the archive endpoints. The writer emits
 * ustar headers, splitting long paths over the `prefix` field and falling back to PAX
 * extended headers for what ustar cannot hold; the reader understands ustar, PAX (`x`, `g`)
 * and GNU long names (`L`, `K`), octal and base-256 numbers — enough for what
 * `GET /containers/{id}/archive` returns. Pure.
 *
 * @module
 */
import { concatBytes } from "./bytes.ts";
import { EngineApiError } from "./errors.ts";

/** The kinds of entry the writer makes. */
export type TarEntryType = "file" | "dir" | "symlink";

/** One entry to write. */
export interface TarEntry {
  /** Relative path, `/`-separated; a trailing `/` is added for directories. */
  path: string;
  /** Defaults to `file`. */
  type?: TarEntryType;
  /** File content (string is UTF-8 encoded). */
  data?: Uint8Array | string;
  /** Permission bits; default 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Modification time; default the Unix epoch, so archives are reproducible. */
  mtime?: Date | number;
  /** Symlink target. */
  linkname?: string;
}

/** One entry read back. */
export interface TarReadEntry {
  path: string;
  type: TarEntryType | "hardlink" | "other";
  /** The raw type flag, e.g. `0`, `5`, `2`. */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch. */
  mtime: number;
  size: number;
  linkname: string;
  data: Uint8Array;
}

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function writeString(header: Uint8Array, offset: number, length: number, value: Uint8Array) {
  header.set(value.subarray(0, length), offset);
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number) {
  const digits = Math.floor(value).toString(8).padStart(length - 1, "0");
  if (digits.length > length - 1) throw new RangeError(`tar field too small for ${value}`);
  writeString(header, offset, length, encoder.encode(`${digits}\0`));
}

/** Splits a long path into ustar `prefix` + `name`, or `undefined` when it cannot be. */
export function splitUstarPath(
  path: Uint8Array,
): { prefix: Uint8Array; name: Uint8Array } | undefined {
  if (path.length <= 100) return { prefix: new Uint8Array(0), name: path };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== 0x2f) continue;
    const prefix = path.subarray(0, i);
    const name = path.subarray(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { prefix, name };
    if (prefix.length <= 155) return undefined;
  }
  return undefined;
}

function header(fields: {
  name: Uint8Array;
  prefix?: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname?: Uint8Array;
  uname?: string;
  gname?: string;
}): Uint8Array {
  const h = new Uint8Array(BLOCK);
  writeString(h, 0, 100, fields.name);
  writeOctal(h, 100, 8, fields.mode);
  writeOctal(h, 108, 8, fields.uid);
  writeOctal(h, 116, 8, fields.gid);
  writeOctal(h, 124, 12, fields.size);
  writeOctal(h, 136, 12, fields.mtime);
  h.fill(0x20, 148, 156);
  h[156] = fields.typeflag.charCodeAt(0);
  if (fields.linkname) writeString(h, 157, 100, fields.linkname);
  writeString(h, 257, 6, encoder.encode("ustar\0"));
  writeString(h, 263, 2, encoder.encode("00"));
  writeString(h, 265, 32, encoder.encode(fields.uname ?? ""));
  writeString(h, 297, 32, encoder.encode(fields.gname ?? ""));
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  if (fields.prefix) writeString(h, 345, 155, fields.prefix);
  let sum = 0;
  for (const byte of h) sum += byte;
  writeString(h, 148, 8, encoder.encode(`${sum.toString(8).padStart(6, "0")}\0 `));
  return h;
}

function padding(size: number): Uint8Array {
  const rest = size % BLOCK;
  return new Uint8Array(rest === 0 ? 0 : BLOCK - rest);
}

/** Encodes PAX records (`"<len> key=value\n"`, where len counts the whole record). */
export function paxRecords(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    const bodyLength = encoder.encode(body).length;
    let length = bodyLength + 1;
    while (String(length).length + bodyLength !== length) {
      length = String(length).length + bodyLength;
    }
    text += `${length}${body}`;
  }
  return encoder.encode(text);
}

/**
 * Writes a tar archive: one header (plus a PAX header when needed) and padded data per
 * entry, then two zero blocks.
 *
 * @example
 * ```ts
 * const tar = tarCreate([{ path: "Dockerfile", data: "FROM scratch\n" }]);
 * ```
 */
export function tarCreate(entries: readonly TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const type = entry.type ?? "file";
    let path = entry.path.replace(/^\/+/, "");
    if (type === "dir" && !path.endsWith("/")) path += "/";
    const data = type === "file"
      ? (typeof entry.data === "string"
        ? encoder.encode(entry.data)
        : entry.data ?? new Uint8Array(0))
      : new Uint8Array(0);
    const mtime = entry.mtime instanceof Date
      ? Math.floor(entry.mtime.getTime() / 1000)
      : Math.floor(entry.mtime ?? 0);
    const pathBytes = encoder.encode(path);
    const linkBytes = encoder.encode(entry.linkname ?? "");
    const split = splitUstarPath(pathBytes);
    const pax: Record<string, string> = {};
    if (!split) pax.path = path;
    if (linkBytes.length > 100) pax.linkpath = entry.linkname!;
    const uid = entry.uid ?? 0;
    const gid = entry.gid ?? 0;
    if (uid > 0o7777777) pax.uid = String(uid);
    if (gid > 0o7777777) pax.gid = String(gid);
    if (Object.keys(pax).length > 0) {
      const records = paxRecords(pax);
      const paxName = encoder.encode(`PaxHeader/${path.replace(/\/$/, "").split("/").pop()}`);
      parts.push(
        header({
          name: paxName.subarray(0, 100),
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: records.length,
          mtime,
          typeflag: "x",
        }),
        records,
        padding(records.length),
      );
    }
    const typeflag = type === "dir" ? "5" : type === "symlink" ? "2" : "0";
    parts.push(
      header({
        name: split ? split.name : pathBytes.subarray(0, 100),
        prefix: split?.prefix,
        mode: entry.mode ?? (type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
        uid: uid > 0o7777777 ? 0 : uid,
        gid: gid > 0o7777777 ? 0 : gid,
        size: data.length,
        mtime,
        typeflag,
        linkname: linkBytes.subarray(0, 100),
        uname: entry.uname,
        gname: entry.gname,
      }),
      data,
      padding(data.length),
    );
  }
  parts.push(new Uint8Array(BLOCK * 2));
  return concatBytes(parts);
}

function readString(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

function readNumber(block: Uint8Array, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = decoder.decode(field).replace(/\0.*$/s, "").trim();
  return text === "" ? 0 : parseInt(text, 8);
}

/** Parses PAX records into key/value pairs. */
export function parsePaxRecords(bytes: Uint8Array): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < bytes.length) {
    const space = bytes.indexOf(0x20, offset);
    if (space < 0) break;
    const length = parseInt(decoder.decode(bytes.subarray(offset, space)), 10);
    if (!(length > 0)) break;
    const record = decoder.decode(bytes.subarray(space + 1, offset + length - 1));
    const eq = record.indexOf("=");
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return records;
}

function bad(detail: string): EngineApiError {
  return new EngineApiError(`Cannot read the tar archive: ${detail}`);
}

/**
 * Reads every entry of a tar archive.
 *
 * @throws {EngineApiError} on a bad checksum or a truncated archive.
 */
export function tarRead(bytes: Uint8Array): TarReadEntry[] {
  const entries: TarReadEntry[] = [];
  let offset = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (offset + BLOCK <= bytes.length) {
    const block = bytes.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
    if (sum !== readNumber(block, 148, 8)) throw bad(`bad header checksum at offset ${offset}`);
    const size = pax.size !== undefined ? Number(pax.size) : readNumber(block, 124, 12);
    const typeflag = String.fromCharCode(block[156] || 0x30);
    const dataStart = offset + BLOCK;
    if (dataStart + size > bytes.length) throw bad(`entry at offset ${offset} is truncated`);
    const data = bytes.slice(dataStart, dataStart + size);
    offset = dataStart + size + padding(size).length;
    if (typeflag === "x") {
      pax = { ...pax, ...parsePaxRecords(data) };
      continue;
    }
    if (typeflag === "g") continue;
    if (typeflag === "L" || typeflag === "K") {
      const text = decoder.decode(data).replace(/\0+$/, "");
      if (typeflag === "L") longName = text;
      else longLink = text;
      continue;
    }
    const magic = readString(block, 257, 6);
    const prefix = magic.startsWith("ustar") ? readString(block, 345, 155) : "";
    const name = readString(block, 0, 100);
    const path = pax.path ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    entries.push({
      path,
      type: typeflag === "0"
        ? "file"
        : typeflag === "5"
        ? "dir"
        : typeflag === "2"
        ? "symlink"
        : typeflag === "1"
        ? "hardlink"
        : "other",
      typeflag,
      mode: readNumber(block, 100, 8),
      uid: pax.uid ? Number(pax.uid) : readNumber(block, 108, 8),
      gid: pax.gid ? Number(pax.gid) : readNumber(block, 116, 8),
      uname: pax.uname ?? readString(block, 265, 32),
      gname: pax.gname ?? readString(block, 297, 32),
      mtime: pax.mtime ? Math.floor(Number(pax.mtime)) : readNumber(block, 136, 12),
      size,
      linkname: pax.linkpath ?? longLink ?? readString(block, 157, 100),
      data,
    });
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
  return entries;
}
