-- Keyward: the change notifications are the only way a change reaches the verification cache (the
-- instance that made it included), so they cover everything verification reads.
--
-- 1. api_tokens: any change to a row notifies, except what a verification itself writes on every use:
--    last_used_at, the credit count `remaining` (only whether it is NULL matters to a cached result)
--    and `refilled_at`. A column added later notifies by default. A deleted row notifies too while it
--    was neither revoked nor expired (a token whose ancestor row is gone is refused; the descendants of
--    a revoked or expired row were dropped or expire with it), so the cleanup of expired and long-revoked
--    tokens stays silent.
DROP TRIGGER "api_tokens_notify_change" ON "api_tokens";
CREATE TRIGGER "api_tokens_notify_change"
AFTER UPDATE ON "api_tokens"
FOR EACH ROW
WHEN (
  (to_jsonb(OLD) - 'last_used_at' - 'remaining' - 'refilled_at')
    IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at' - 'remaining' - 'refilled_at')
  OR (OLD."remaining" IS NULL) IS DISTINCT FROM (NEW."remaining" IS NULL)
)
EXECUTE FUNCTION "keyward_notify_token_change"();

CREATE OR REPLACE FUNCTION "keyward_notify_token_delete"() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('keyward_token_changed', OLD."id"::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "api_tokens_notify_delete"
AFTER DELETE ON "api_tokens"
FOR EACH ROW
WHEN (OLD."revoked_at" IS NULL AND (OLD."expires_at" IS NULL OR OLD."expires_at" > now()))
EXECUTE FUNCTION "keyward_notify_token_delete"();

-- 2. projects: tokens files confine tokens by project name, so which projects their tokens reach
--    changes when a project is created, renamed or deleted (payload: the project id).
CREATE OR REPLACE FUNCTION "keyward_notify_project_change"() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('keyward_project_changed', COALESCE(NEW."id", OLD."id")::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "projects_notify_change"
AFTER INSERT OR DELETE OR UPDATE OF "name", "renamed_at" ON "projects"
FOR EACH ROW
EXECUTE FUNCTION "keyward_notify_project_change"();
