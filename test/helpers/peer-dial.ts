// A test's own peer connection: dials a peer server the way a replicator does and runs
// the real handshake (lib/wire/handshake.ts) as the node `as`, with or without the
// cluster secret. Resolves with the socket once the proof is sent (the connection then
// carries msgs frames), or with the reason when the server refused or the check failed.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { encodeFrame, FrameDecoder, WIRE_VERSION } from '../../lib/wire/frame-codec.js';
import { DialerHandshake, NONCE_BYTES } from '../../lib/wire/handshake.js';

export interface DialOptions {
  host: string;
  port: number;
  localAddress?: string;
  cluster: string;
  as: string;
  to: string;
  secret: Buffer | null;
  timeoutMs?: number;
}

export type DialResult = { ok: true; socket: net.Socket } | { ok: false; reason: string };

export function dialPeer(o: DialOptions): Promise<DialResult> {
  return new Promise((resolve) => {
    const hs = new DialerHandshake({ cluster: o.cluster, version: WIRE_VERSION, secret: o.secret }, o.as, o.to, randomBytes(NONCE_BYTES));
    const decoder = new FrameDecoder(1024);
    const sock = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress });
    let settled = false;
    const done = (r: DialResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.removeAllListeners('data');
      if (!r.ok) sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: 'timeout' }), o.timeoutMs ?? 5000);
    sock.on('error', () => undefined);
    sock.on('connect', () => sock.write(encodeFrame(hs.hello())));
    sock.on('close', () => done({ ok: false, reason: 'closed by server' }));
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) {
          if (f.t !== 'challenge') return done({ ok: false, reason: `got ${f.t}` });
          const v = hs.onChallenge(f);
          if (!v.ok) return done({ ok: false, reason: v.reason });
          sock.write(encodeFrame(v.value));
          sock.removeAllListeners('close');
          return done({ ok: true, socket: sock });
        }
      } catch (err) {
        done({ ok: false, reason: String(err) });
      }
    });
  });
}
