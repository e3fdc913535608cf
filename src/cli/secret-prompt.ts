/**
 * Reading a PIN or password from a person at a terminal, without echo (ikeadm token login,
 * ikecert's token and PKCS#12 operations). When standard input is not a terminal, its first line
 * is the secret, so scripts and tests can pipe it in.
 */
import readline from "node:readline";

/** Prints `prompt` on standard error and reads one line, without echo at a terminal. */
export function readSecretLine(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const input = process.stdin;
    process.stderr.write(prompt);
    if (!input.isTTY) {
      const rl = readline.createInterface({ input, terminal: false });
      // resolve first: close() emits "close" at once, whose listener would resolve "".
      rl.once("line", (l) => (resolve(l), rl.close()));
      rl.once("close", () => resolve(""));
      return;
    }
    let secret = "";
    input.setRawMode(true);
    input.resume();
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          input.setRawMode(false);
          input.pause();
          input.off("data", onData);
          process.stderr.write("\n");
          resolve(secret);
          return;
        }
        if (ch === "\u0003") {
          input.setRawMode(false);
          process.exit(1);
        }
        secret = ch === "\u007f" ? secret.slice(0, -1) : secret + ch;
      }
    };
    input.on("data", onData);
  });
}
