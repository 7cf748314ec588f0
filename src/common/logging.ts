import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/config.schema.js';

/** Headers that carry credentials: never written to a log, whatever the level. */
export const SECRET_HEADERS = [
  'authorization',
  'x-token',
  'x-api-key',
  'x-project-token',
  'cookie',
  'proxy-authorization',
];

export function loggerParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.LOG_LEVEL,
      // Request bodies are never logged (they carry secrets in create responses and verify calls).
      redact: { paths: SECRET_HEADERS.map((h) => `req.headers["${h}"]`), censor: '[redacted]' },
      serializers: {
        req: (req: { id: string; method: string; url: string; headers: Record<string, unknown> }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
          headers: req.headers,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customProps: () => ({ service: 'keyward' }),
      quietReqLogger: true,
    },
  };
}
