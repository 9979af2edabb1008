// A real HTTP server on 127.0.0.1 (a free port) that records every request and answers as the
// test says: a status and body, or no answer at all (a timeout).
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as received (what a signature is computed over). */
  body: string;
}

export type Answer = { status: number; body?: string } | "hang";

export interface Recorder {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export async function httpRecorder(answer: (req: Recorded, n: number) => Answer = () => ({ status: 200, body: "ok" })): Promise<Recorder> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rec: Recorded = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      requests.push(rec);
      const a = answer(rec, requests.length);
      if (a === "hang") return;
      res.writeHead(a.status, { "content-type": "application/json" }).end(a.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
