// Captures the requests an SDK client really serialises and signs, with no network: a middleware at the
// end of the stack (deserialize step, low priority: after serialisation, building and signing) records
// the HttpRequest and answers with a canned response that the SDK's own deserialiser then parses.
import { HttpResponse, type HttpRequest } from '@smithy/core/transport';
import { Readable } from 'node:stream';

export interface Captured {
  service: string;
  method: string;
  hostname: string;
  path: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body: string;
}

export type Responder = (req: Captured) => { status: number; headers?: Record<string, string>; body: string };

type AnyClient = { middlewareStack: { add(mw: unknown, opts: unknown): void } };

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  return String(body);
}

export function capture(client: AnyClient, service: string, log: Captured[], respond: Responder): void {
  client.middlewareStack.add(
    () => async (args: { request: HttpRequest }) => {
      const r = args.request;
      const captured: Captured = {
        service,
        method: r.method,
        hostname: r.hostname,
        path: r.path,
        query: r.query as Captured['query'],
        headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), String(v)])),
        body: bodyText(r.body),
      };
      log.push(captured);
      const answer = respond(captured);
      return {
        response: new HttpResponse({ statusCode: answer.status, headers: answer.headers ?? {}, body: Readable.from([Buffer.from(answer.body)]) }),
      };
    },
    { step: 'deserialize', priority: 'low', name: 'cirrusCaptureRequests' },
  );
}
