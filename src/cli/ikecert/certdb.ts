/**
 * `ikecert certdb` (certificates) and `ikecert certrldb` (CRLs), ikecert.md §3–4: -a imports from
 * standard input (PEM or DER, stored as DER), -e exports the first match of a certspec (PEM by
 * default, -f ber for DER), -l lists (all or matching), -r removes the first match. Token options
 * (-T -p -U -C -L) are in token-certdb.ts.
 */
import fs from "node:fs";
import path from "node:path";
import type { IkedPaths } from "../../daemon/paths.js";
import type { Certificate } from "../../pki/certificate.js";
import type { Crl } from "../../pki/crl.js";
import { parseCertificate } from "../../pki/certificate.js";
import { parseCrl } from "../../pki/crl.js";
import { dnMatches, formatName, namesEqual } from "../../pki/name.js";
import { derObjects, encodePem } from "../../pki/pem.js";
import type { Selector } from "../../pki/selector.js";
import type { Opts } from "./options.js";
import { IkecertError, addCertificate, certsMatching, certspec, freeSlot, publicKeyHash, readCert, readCrl, readStdin, slots, writeSlot } from "./store-ops.js";
import { certToToken, copyCertToToken, forgetTokenCert, keySlotOf, linkTokenCert, removeCertObjects } from "./token-certdb.js";
import { tokenOfCert } from "./token-store.js";

/** A CRL matches a certspec by slot and by its issuer (SUBJECT/ISSUER/DN terms name the issuer). */
function crlMatches(spec: Selector[], crl: Crl, slot: string): boolean {
  const one = (s: Selector): boolean => {
    switch (s.kind) {
      case "any":
        return true;
      case "not":
        return !one(s.term);
      case "slot":
        return s.slot === slot;
      case "subject":
      case "issuer":
      case "dn":
        return dnMatches(s.dn, crl.issuer);
      default:
        return false;
    }
  };
  return spec.every(one);
}

function exportFormat(o: Opts): "pem" | "ber" {
  const f = o.value("f") ?? "pem";
  if (f !== "pem" && f !== "ber" && f !== "der") throw new IkecertError("-f must be pem or ber");
  return f === "pem" ? "pem" : "ber";
}

/** Runs `certdb`. */
export async function certdb(p: IkedPaths, o: Opts, out: (s: string | Buffer) => void, err: (s: string) => void): Promise<void> {
  switch (o.primary) {
    case "a": {
      const objs = derObjects(readStdin(), "certificate");
      if (typeof objs === "string") throw new IkecertError(`standard input: ${objs}`);
      if (objs.length !== 1) throw new IkecertError(`standard input holds ${objs.length} certificates; add one at a time`);
      const r = parseCertificate(objs[0]!);
      if (!r.ok) throw new IkecertError(`standard input: ${r.error.message}`);
      if (certsMatching(p, []).some(({ cert }) => cert?.fingerprint === r.value.fingerprint)) throw new IkecertError("this certificate is already in the database");
      const key = await keySlotOf(p, r.value.spki);
      addCertificate(p, key, await certToToken(p, o, r.value, key, err), err);
      return;
    }
    case "e": {
      const hit = certsMatching(p, certspec(o.args)).find((h) => h.cert);
      if (!hit?.cert) throw new IkecertError("no certificate matches");
      out(exportFormat(o) === "pem" ? encodePem("X509 CERTIFICATE", hit.cert.der) : hit.cert.der);
      return;
    }
    case "l": {
      const keys = new Set(slots(p.privateKeysDir));
      for (const { slot, cert } of certsMatching(p, certspec(o.args))) {
        if (!cert) {
          out(`Certificate Slot Name: ${slot}\n\t(corrupt or unrecognised; 'ikecert certdb -r SLOT=${slot}' removes it)\n`);
          continue;
        }
        out(`Certificate Slot Name: ${slot}   Key Type: ${cert.keyFamily}\n`);
        const on = tokenOfCert(p, slot);
        if (on) out(`\tToken: "${on.token}" (id ${on.id.toString("hex")})\n`);
        if (keys.has(slot)) out(`\t(Private key in certlocal slot ${slot})\n`);
        out(`\tSubject Name: <${cert.subjectText}>\n\tIssuer Name: <${formatName(cert.issuer)}>\n`);
        const san = cert.ext.subjectAltName;
        const alts = [...san.ip.map((b) => `IP=${ipText(b)}`), ...san.dns.map((d) => `DNS=${d}`), ...san.email.map((e) => `EMAIL=${e}`), ...san.uri.map((u) => `URI=${u}`)];
        for (const a of alts) out(`\tSubjectAltName: ${a}\n`);
        out(`\tValid: ${new Date(cert.notBefore).toISOString()} to ${new Date(cert.notAfter).toISOString()}\n\tPublic key hash: ${publicKeyHash(cert.spki)}\n`);
        if (o.flag("v")) out(encodePem("X509 CERTIFICATE", cert.der));
      }
      return;
    }
    case "r": {
      if (o.args.length === 0) throw new IkecertError("-r needs a certspec");
      const hit = certsMatching(p, certspec(o.args))[0];
      if (!hit) throw new IkecertError("no certificate matches");
      const on = tokenOfCert(p, hit.slot);
      if (on) await removeCertObjects(p, o, on, err);
      fs.rmSync(path.join(p.publicKeysDir, hit.slot));
      err(`Certificate in slot ${hit.slot} removed${slots(p.privateKeysDir).includes(hit.slot) ? " (its private key is kept)" : ""}.\n`);
      return;
    }
    case "U":
      return forgetTokenCert(p, o, err);
    case "C":
      return copyCertToToken(p, o, err);
    case "L":
      return linkTokenCert(p, o, err);
    default:
      throw new IkecertError(`certdb does not take -${o.primary}`);
  }
}

function ipText(b: Buffer): string {
  if (b.length === 4) return [...b].join(".");
  return (b.toString("hex").match(/.{4}/g) ?? []).join(":");
}

/** Runs `certrldb`. */
export function certrldb(p: IkedPaths, o: Opts, out: (s: string | Buffer) => void, err: (s: string) => void): void {
  const crls = () => slots(p.crlsDir).map((slot) => ({ slot, crl: readCrl(p.crlsDir, slot) }));
  switch (o.primary) {
    case "a": {
      const objs = derObjects(readStdin(), "crl");
      if (typeof objs === "string") throw new IkecertError(`standard input: ${objs}`);
      if (objs.length !== 1) throw new IkecertError(`standard input holds ${objs.length} CRLs; add one at a time`);
      const r = parseCrl(objs[0]!);
      if (!r.ok) throw new IkecertError(`standard input: ${r.error.message}`);
      // A newer CRL from the same issuer replaces the old one.
      const old = crls().find(({ crl }) => crl && namesEqual(crl.issuer, r.value.issuer));
      const slot = old?.slot ?? freeSlot(p);
      writeSlot(p.crlsDir, slot, r.value.der, false);
      err(`CRL ${old ? "replaced" : "added"} in slot ${slot}.\n`);
      return;
    }
    case "e": {
      const spec = certspec(o.args);
      const hit = crls().find(({ crl, slot }) => crl && crlMatches(spec, crl, slot));
      if (!hit?.crl) throw new IkecertError("no CRL matches");
      out(exportFormat(o) === "pem" ? encodePem("X509 CRL", hit.crl.der) : hit.crl.der);
      return;
    }
    case "l": {
      const spec = certspec(o.args);
      for (const { slot, crl } of crls()) {
        if (!crl) {
          out(`CRL Slot Name: ${slot}\n\t(corrupt or unrecognised)\n`);
          continue;
        }
        if (!crlMatches(spec, crl, slot)) continue;
        out(`CRL Slot Name: ${slot}\n\tIssuer Name: <${crl.issuerText}>\n\tThis Update: ${new Date(crl.thisUpdate).toISOString()}\n`);
        out(`\tNext Update: ${crl.nextUpdate === undefined ? "(none)" : new Date(crl.nextUpdate).toISOString()}\n\tRevoked certificates: ${crl.revoked.size}\n`);
        for (const s of slots(p.publicKeysDir)) {
          const c = readCert(p.publicKeysDir, s);
          if (c && namesEqual(c.issuer, crl.issuer)) out(`\tCertificate in slot ${s}: <${c.subjectText}>${crl.revoked.has(c.serial) ? " REVOKED" : ""}\n`);
        }
        if (o.flag("v")) out(encodePem("X509 CRL", crl.der));
      }
      return;
    }
    case "r": {
      if (o.args.length === 0) throw new IkecertError("-r needs a certspec");
      const spec = certspec(o.args);
      const hit = crls().find(({ crl, slot }) => (crl ? crlMatches(spec, crl, slot) : spec.some((s) => s.kind === "slot" && s.slot === slot)));
      if (!hit) throw new IkecertError("no CRL matches");
      fs.rmSync(path.join(p.crlsDir, hit.slot));
      err(`CRL in slot ${hit.slot} removed.\n`);
      return;
    }
    default:
      throw new IkecertError(`certrldb does not take -${o.primary}`);
  }
}
