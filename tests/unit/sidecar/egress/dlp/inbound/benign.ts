/**
 * The benign corpus of `tests/fixtures/inbound/benign/` (its `articles/README.md` says where each
 * part comes from), read with the content type a server would send.
 *
 * @module
 */

const ROOT = new URL("../../../../../fixtures/inbound/benign/", import.meta.url);

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  md: "text/markdown",
  txt: "text/plain",
  json: "application/json",
};

/** One file of the corpus. */
export interface BenignFile {
  /** Path under the corpus folder. */
  path: string;
  contentType: string;
  text: string;
  bytes: Uint8Array;
}

/** Every file of the corpus, sorted by path. */
export async function benignCorpus(): Promise<BenignFile[]> {
  const out: BenignFile[] = [];
  for await (const dir of Deno.readDir(ROOT)) {
    if (!dir.isDirectory) continue;
    for await (const f of Deno.readDir(new URL(`${dir.name}/`, ROOT))) {
      const ext = f.name.slice(f.name.lastIndexOf(".") + 1);
      if (!TYPES[ext] || f.name === "README.md") continue;
      const bytes = await Deno.readFile(new URL(`${dir.name}/${f.name}`, ROOT));
      out.push({
        path: `${dir.name}/${f.name}`,
        contentType: TYPES[ext],
        text: new TextDecoder().decode(bytes),
        bytes,
      });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
