-- Lists whose cost follows the answer, not the table.
-- Global tokens narrowed to projects: the Publisher list of a project-confined caller (overlap, then
-- containment) and a project's deletion (tokens narrowed to it alone) find them through the scope.
CREATE INDEX "api_tokens_scope_projects_idx" ON "api_tokens" USING GIN ("scope_projects");

-- A project's live tokens, newest first: the page is the first rows of this index, whatever the
-- project's revoked tokens or the other projects hold.
CREATE INDEX "api_tokens_project_live_idx" ON "api_tokens" ("project_id", "created_at" DESC, "id" DESC)
    WHERE "kind" = 'project' AND "revoked_at" IS NULL;
