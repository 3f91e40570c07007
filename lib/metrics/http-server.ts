// The node's HTTP endpoint for monitoring: GET /metrics (Prometheus text format),
// GET /health and GET /ready (200 or 503 with a one-line JSON body). It runs on the
// main thread because /health must read the core's status as it is right now and a
// scrape is a round of messages to the actors that main already owns; a main thread
// too busy to answer is itself what /health should reveal (the probe times out).
import * as http from 'node:http';
import type * as net from 'node:net';
import { RaftdError } from '../util/errors.js';
import type { HealthVerdict } from './health.js';

/** Bounds: an endpoint for a few scrapers and probes, not for the public. */
const CONNECTIONS_MAX = 64;
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;

export interface MonitoringHandlers {
  scrape(): Promise<{ contentType: string; text: string }>;
  health(): HealthVerdict;
  ready(): HealthVerdict;
  /** Extra fields for the /health and /ready bodies (role, term, leader, indexes). */
  facts(): Record<string, unknown>;
}

export class MetricsServer {
  private readonly server: http.Server;

  constructor(private readonly h: MonitoringHandlers) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.maxConnections = CONNECTIONS_MAX;
    this.server.requestTimeout = REQUEST_TIMEOUT_MS;
    this.server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.server.keepAliveTimeout = 5_000;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(new RaftdError('RAFTD_CONFIG', `metrics endpoint cannot listen on ${host}:${port}: ${err.code ?? ''} ${err.message}`.trim()));
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', () => undefined);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET\n', { allow: 'GET, HEAD' });
    switch (url) {
      case '/metrics':
        this.h.scrape().then(
          (m) => send(res, 200, m.contentType, m.text),
          (err: unknown) => send(res, 500, 'text/plain', `scrape failed: ${err instanceof Error ? err.message : String(err)}\n`),
        );
        return;
      case '/health':
      case '/ready': {
        const v = url === '/health' ? this.h.health() : this.h.ready();
        const body = { [url.slice(1)]: v.ok ? 'ok' : 'fail', reason: v.reason, ...this.h.facts() };
        return send(res, v.ok ? 200 : 503, 'application/json', JSON.stringify(body) + '\n');
      }
      default:
        return send(res, 404, 'text/plain', 'not found: try /metrics, /health, /ready\n');
    }
  }
}

function send(res: http.ServerResponse, code: number, type: string, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
