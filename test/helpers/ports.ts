import * as net from 'node:net';

/** A port that was free on `host` a moment ago (the OS picks it). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A block of loopback addresses 127.<b>.<c>.1..n of its own for one test file, so
 * test files running side by side never share an address.
 */
export function loopbackBlock(n: number): string[] {
  const b = 100 + Math.floor(Math.random() * 150);
  const c = 1 + Math.floor(Math.random() * 250);
  return Array.from({ length: n }, (_, i) => `127.${b}.${c}.${i + 1}`);
}
