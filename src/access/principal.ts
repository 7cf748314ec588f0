import type { Access } from './permissions.js';

/** Flags a tokens-file entry may carry (seed 000); reported by verification. */
export interface TokenFlags {
  allow_overwrite: boolean;
  allow_delete: boolean;
  existing_projects_only: boolean;
}

/** Who is calling, and what they may do. Attached to the request by the global guard. */
export interface Principal {
  /** Where the credential lives: the bootstrap admin token, the database, or a tokens file. */
  source: 'admin' | 'database' | 'file';
  /** Database token id, or a stable synthetic id for admin/file tokens (`admin`, `file:<name>`). */
  id: string;
  name: string | null;
  kind: 'global' | 'project';
  access: Access;
  permissions: string[];
  /** Project ids (or, for tokens files, names) this caller is confined to; null means every project. */
  projects: string[] | null;
  expiresAt: Date | null;
  flags?: TokenFlags;
}

export function canSeeProject(principal: Principal, project: { id: string; name: string }): boolean {
  return (
    principal.projects === null || principal.projects.includes(project.id) || principal.projects.includes(project.name)
  );
}
