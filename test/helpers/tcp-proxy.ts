import net from 'node:net';

/** A loopback TCP proxy whose path can be cut without closing anything. */
export interface TcpProxy {
  port: number;
  /** Stop forwarding bytes both ways; sockets stay open, bytes in transit are held (a half-open path). */
  blackhole(): void;
  /** Forward again, held bytes first, as TCP retransmission would deliver them once the path is back. */
  heal(): void;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * Forwards every connection on a free loopback port to `target`. While blackholed it reads and holds
 * what either side sends and writes nothing: neither side sees an error, a FIN or a RST, exactly
 * like a path that silently drops packets. A connection opened while blackholed hangs the same way.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let cut = false;
  let connections = 0;
  const flushes = new Set<() => void>();
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const held: [net.Socket, Buffer][] = [];
    const forward = (to: net.Socket) => (chunk: Buffer) => {
      if (cut) held.push([to, chunk]);
      else to.write(chunk);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const flush = () => {
      for (const [to, chunk] of held.splice(0)) to.write(chunk);
    };
    flushes.add(flush);
    // A close from either side is real (not part of the fault): it crosses once the path is up.
    const close = () => {
      if (cut) {
        flushes.add(close);
        return;
      }
      flushes.delete(flush);
      flushes.delete(close);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole() {
      cut = true;
    },
    heal() {
      cut = false;
      for (const flush of flushes) flush();
    },
    get connections() {
      return connections;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
