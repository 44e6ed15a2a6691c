import net from 'node:net';

/** A loopback TCP proxy whose path can be cut without closing anything. */
export interface TcpProxy {
  port: number;
  /**
   * Stop forwarding bytes both ways; sockets stay open, bytes in transit are held (a half-open path).
   * With `newConnections: false` only the connections open now are cut and new ones go through, as
   * when a NAT or load balancer forgets its connections while the route itself is fine.
   */
  blackhole(opts?: { newConnections?: boolean }): void;
  /** Forward again, held bytes first, as TCP retransmission would deliver them once the path is back. */
  heal(): void;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

interface Link {
  cut: boolean;
  /** Writes (and a close) held while cut, run in order on heal. */
  held: (() => void)[];
  client: net.Socket;
  upstream: net.Socket;
}

/**
 * Forwards every connection on a free loopback port to `target`. While blackholed it reads and holds
 * what either side sends and writes nothing: neither side sees an error, a FIN or a RST, exactly
 * like a path that silently drops packets. A connection opened while blackholed hangs the same way.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let cutNew = false;
  let connections = 0;
  const links = new Set<Link>();

  const server = net.createServer((client) => {
    connections++;
    const link: Link = { cut: cutNew, held: [], client, upstream: net.connect(target.port, target.host) };
    links.add(link);
    const pass = (action: () => void) => (link.cut ? link.held.push(action) : action());
    client.on('data', (chunk) => pass(() => link.upstream.write(chunk)));
    link.upstream.on('data', (chunk) => pass(() => client.write(chunk)));
    // A close from either side is real (not part of the fault): it crosses once the path is up.
    const close = () =>
      pass(() => {
        links.delete(link);
        client.destroy();
        link.upstream.destroy();
      });
    for (const socket of [client, link.upstream]) socket.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole(opts = {}) {
      for (const link of links) link.cut = true;
      cutNew = opts.newConnections ?? true;
    },
    heal() {
      cutNew = false;
      for (const link of links) {
        link.cut = false;
        for (const action of link.held.splice(0)) action();
      }
    },
    get connections() {
      return connections;
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
