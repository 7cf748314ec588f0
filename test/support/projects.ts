import { expect } from 'vitest';
import { ADMIN_TOKEN, type Client } from './app.js';

export interface ProjectBody {
  id: string;
  name: string;
  createdAt: string;
}

export interface ProjectTokenBody {
  id: string;
  token: string;
  name: string;
  permissions: string[];
  createdAt: string;
}

let counter = 0;
/** A name no other test in the file uses. */
export const unique = (prefix = 'n') => `${prefix}-${Date.now().toString(36)}-${++counter}`;

export async function createProject(api: Client, name = unique('project'), token = ADMIN_TOKEN): Promise<ProjectBody> {
  const res = await api.post('/v1/projects', { name }, { token });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

export async function createProjectToken(
  api: Client,
  projectId: string,
  permissions: string[],
  opts: { name?: string; token?: string } = {},
): Promise<ProjectTokenBody> {
  const res = await api.post(
    `/v1/projects/${projectId}/tokens`,
    { name: opts.name ?? unique('token'), permissions },
    { token: opts.token ?? ADMIN_TOKEN },
  );
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** A global (Publisher-style) token made through the Publisher API. */
export async function createGlobalToken(api: Client, access: 'read' | 'write'): Promise<string> {
  const res = await api.post('/api-token/create', { access });
  expect(res.status, res.text).toBe(200);
  return res.body.token;
}

/** A global token made through the Publisher API with `body` (read access unless it says otherwise). */
export async function createApiToken(
  api: Client,
  body: Record<string, unknown> = {},
): Promise<{ id: string; token: string }> {
  const res = await api.post('/api-token/create', { access: 'read', ...body });
  expect(res.status, res.text).toBe(200);
  return res.body;
}
