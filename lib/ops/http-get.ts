// One bounded HTTP GET to a node's monitoring endpoint (/metrics, /health, /ready).
import * as http from 'node:http';

/** Bound on a response body: a /metrics page of a node is tens of KiB. */
const BODY_BYTES_MAX = 8 * 1024 * 1024;

export interface HttpReply {
  status: number;
  body: string;
}

export function httpGet(host: string, port: number, path: string, timeoutMs: number): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes > BODY_BYTES_MAX) req.destroy(new Error(`response larger than ${BODY_BYTES_MAX} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // `timeout` only covers idle sockets: bound the whole exchange too.
    const timer = setTimeout(() => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
  });
}
