import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { VERSION } from './version.js';

/** OpenAPI extension carrying the one permission an operation requires (also spelled out in its description). */
export const PERMISSION_EXTENSION = 'x-keyward-permission';

const DESCRIPTION = `Keyward issues, scopes, verifies, expires and revokes API tokens.

Authenticate with any one of: \`Authorization: Bearer <token>\`, \`X-Token: <token>\`, \`X-API-Key: <token>\`
or \`X-Project-Token: <token>\`. Errors have the envelope
\`{"error":{"code","message","data","trace_id"}}\`, except on the Calyptia-style routes (\`/v1/projects…\`,
\`/v1/project_tokens…\`), which answer \`{"error":"<message>","detail":"<optional>","code","data","trace_id"}\`
as Calyptia's clients expect; the trace id is also the \`X-Trace-Id\` header.`;

/** The OpenAPI document, built from the code. Operation ids are stable (the alias paths get a suffix). */
export function buildOpenApiDocument(app: INestApplication, version = VERSION): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Keyward')
    .setDescription(DESCRIPTION)
    .setVersion(version)
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token>' }, 'bearer')
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-Token', description: 'X-Token: <token> (named-tokens files)' },
      'x-token',
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'X-API-Key: <token> (API-keys files)' },
      'x-api-key',
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-Project-Token', description: 'Calyptia project tokens' },
      'x-project-token',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  const seen = new Set<string>();
  for (const path of Object.keys(document.paths).sort().reverse()) {
    for (const op of Object.values(document.paths[path]) as Array<{ operationId?: string }>) {
      if (!op || typeof op !== 'object' || !op.operationId) continue;
      if (seen.has(op.operationId)) {
        const alias = path
          .split('/')
          .filter(Boolean)[0]
          .replace(/[^A-Za-z0-9]/g, '');
        op.operationId = `${op.operationId}_${alias}`;
      }
      seen.add(op.operationId);
    }
  }
  describeRequiredPermissions(document);
  return document;
}

/** Every protected operation states its one required permission in its description. */
function describeRequiredPermissions(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item) as Array<Record<string, unknown>>) {
      const permission = op?.[PERMISSION_EXTENSION];
      if (typeof permission !== 'string') continue;
      const line = `Requires the \`${permission}\` permission.`;
      op.description = op.description ? `${String(op.description)}\n\n${line}` : line;
    }
  }
}
