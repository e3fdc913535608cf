/**
 * PEM armour (RFC 7468) around the DER objects of the store. Files and ikecert input may be PEM or
 * DER; PEM is recognised by its `-----BEGIN` line. Labels accepted for certificates include the
 * `X509 CERTIFICATE` armour the Solaris manual shows for ikecert's output.
 */

/** PEM labels by object kind. */
export const PEM_LABELS = {
  certificate: ["CERTIFICATE", "X509 CERTIFICATE"],
  crl: ["X509 CRL"],
  request: ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
  privateKey: ["PRIVATE KEY", "RSA PRIVATE KEY", "DSA PRIVATE KEY", "EC PRIVATE KEY"],
} as const;

/** One PEM block. */
export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/g;

/** Whether the bytes look like PEM text (a BEGIN line in the first KiB). */
export function isPem(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).toString("latin1").includes("-----BEGIN ");
}

/**
 * The PEM blocks in `text`, in order. Base64 must be clean (RFC 7468 §3 "strict" plus line breaks);
 * a block whose body does not decode is an error message instead.
 */
export function decodePem(text: string): PemBlock[] | string {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = m[2]!.replace(/[\r\n\t ]/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) return `PEM block '${m[1]}' has invalid base64`;
    out.push({ label: m[1]!, der: Buffer.from(body, "base64") });
  }
  if (out.length === 0) return "no complete PEM block";
  return out;
}

/** PEM text for DER bytes (64-character lines). */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * The DER objects of one kind in a file's bytes: the PEM blocks with a label of that kind, or the
 * bytes themselves when they are not PEM. Other PEM blocks are ignored (a certificate file may
 * carry its key's armour too, which is never read here).
 */
export function derObjects(bytes: Buffer, kind: keyof typeof PEM_LABELS): Buffer[] | string {
  if (!isPem(bytes)) return [bytes];
  const blocks = decodePem(bytes.toString("latin1"));
  if (typeof blocks === "string") return blocks;
  const labels: readonly string[] = PEM_LABELS[kind];
  const mine = blocks.filter((b) => labels.includes(b.label));
  if (mine.length === 0) return `no ${labels.join(" or ")} PEM block`;
  return mine.map((b) => b.der);
}
