import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The parsed payload if the signature verified with the receiver's secret, else null. */
  verified: { type: string; timestamp: string; data: Record<string, any> } | null;
  headers: IncomingHttpHeaders;
}

/**
 * A webhook endpoint on 127.0.0.1 that verifies every delivery with the `standardwebhooks` package and
 * the secret it is given, and answers `status()` (e.g. 500 for the first five calls, then 204).
 */
export class Receiver {
  readonly calls: Received[] = [];
  secret = '';
  status: (call: number) => number = () => 204;
  private server!: Server;
  private waiters: Array<() => void> = [];

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    r.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const h = (name: string) => String(req.headers[name] ?? '');
        let verified: Received['verified'] = null;
        try {
          verified = new Webhook(r.secret).verify(body, {
            'webhook-id': h('webhook-id'),
            'webhook-timestamp': h('webhook-timestamp'),
            'webhook-signature': h('webhook-signature'),
          }) as Received['verified'];
        } catch {
          verified = null;
        }
        r.calls.push({
          id: h('webhook-id'),
          timestamp: h('webhook-timestamp'),
          signature: h('webhook-signature'),
          body,
          verified,
          headers: req.headers,
        });
        res.statusCode = r.status(r.calls.length);
        res.end();
        for (const w of r.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get url(): string {
    const { port } = this.server.address() as { port: number };
    return `http://127.0.0.1:${port}/hook`;
  }

  /** Verified deliveries of this event type. */
  of(type: string): Received[] {
    return this.calls.filter((c) => c.verified?.type === type);
  }

  /** Resolves once `pred` holds (checked after every call); the test's own timeout bounds the wait. */
  async until(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
