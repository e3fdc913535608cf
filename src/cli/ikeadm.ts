#!/usr/bin/env -S node --openssl-legacy-provider
/**
 * ikeadm: administer a running in.iked through its admin socket (reference ikeadm.md).
 *
 * ```
 * ikeadm [-h] [-n] [-p] [--root DIR] [--json]            interactive mode
 * ikeadm [-n] [-p] [--root DIR] [--json] cmd obj [args]   one command
 * ```
 */
import readline from "node:readline";
import { AdminClient } from "../control/client.js";
import type { AdminRequest } from "../control/messages.js";
import { ikedPaths } from "../daemon/paths.js";
import { runCommand, SUMMARY, USAGE, type CommandContext } from "./ikeadm/commands.js";
import { LineAssembler } from "./ikeadm/tokenize.js";
import { readSecretLine } from "./secret-prompt.js";

interface CliOptions {
  numeric: boolean;
  paranoid: boolean;
  json: boolean;
  help: boolean;
  root: string;
  words: string[];
}

function parseArgs(argv: readonly string[]): CliOptions | string {
  const o: CliOptions = { numeric: false, paranoid: false, json: false, help: false, root: "/", words: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (a === "--json") o.json = true;
    else if (a === "--help") o.help = true;
    else if (a === "--root" || a.startsWith("--root=")) {
      const v = a.includes("=") ? a.slice(7) : argv[++i];
      if (!v) return "--root needs a directory";
      o.root = v;
    } else if (/^-[hnp]+$/.test(a)) {
      for (const c of a.slice(1)) {
        if (c === "h") o.help = true;
        if (c === "n") o.numeric = true;
        if (c === "p") o.paranoid = true;
      }
    } else if (a.startsWith("-")) return `unknown option ${a}`;
    else break;
  }
  o.words = argv.slice(i);
  return o;
}

async function interactive(ctx: CommandContext): Promise<number> {
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: "ikeadm> ",
    historySize: 500,
    terminal: process.stdin.isTTY === true,
  });
  const lines = new LineAssembler();
  // Prompts only for a person at a terminal; piped command scripts get clean output.
  const prompt = () => {
    if (process.stdin.isTTY) rl.prompt();
  };
  // Ctrl-C abandons the line being typed, as in the original (SIGINT is otherwise ignored).
  rl.on("SIGINT", () => {
    lines.reset();
    process.stdout.write("\n");
    prompt();
  });
  prompt();
  for await (const line of rl) {
    const r = lines.feed(line);
    if (r.kind === "error") ctx.err(r.message);
    if (r.kind === "words") {
      if (r.words[0] === "exit" || r.words[0] === "quit") break;
      await runCommand(r.words, ctx);
    }
    if (r.kind === "more") rl.setPrompt("> ");
    else rl.setPrompt("ikeadm> ");
    prompt();
  }
  if (process.stdin.isTTY) process.stdout.write("\n");
  rl.close();
  return 0;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (typeof o === "string") {
    process.stderr.write(`ikeadm: ${o}\n${USAGE.join("\n")}\n`);
    return 1;
  }
  if (o.help) {
    process.stdout.write(SUMMARY.join("\n") + "\n");
    return 0;
  }
  const socketPath = ikedPaths(o.root).adminSocket;
  const isInteractive = o.words.length === 0;
  // `help` needs no daemon.
  let client: AdminClient | undefined;
  const ctx: CommandContext = {
    numeric: o.numeric,
    paranoid: o.paranoid,
    json: o.json,
    interactive: isInteractive,
    cwd: process.cwd(),
    out: (lines) => process.stdout.write(lines.map((l) => l + "\n").join("")),
    err: (m) => process.stderr.write(`ikeadm: ${m}\n`),
    readPin: readSecretLine,
    request: async (req: AdminRequest) => {
      if (!client) {
        try {
          client = await AdminClient.connect(socketPath);
        } catch (e) {
          return { ok: false, error: { code: 10, message: `cannot communicate with in.iked at ${socketPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` } };
        }
      }
      const r = await client.request(req);
      // A closed connection (daemon restarted) is retried once on a fresh one, like the door.
      if (!r.ok && r.error.errno === "ECONNRESET") {
        client = undefined;
        try {
          client = await AdminClient.connect(socketPath);
        } catch {
          return r;
        }
        return client.request(req);
      }
      return r;
    },
  };
  try {
    return isInteractive ? await interactive(ctx) : await runCommand(o.words, ctx);
  } finally {
    client?.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ikeadm: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
