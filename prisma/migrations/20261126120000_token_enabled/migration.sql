-- Keyward: an `enabled` switch on every token. A disabled token is refused (401; verify says DISABLED)
-- but not revoked: enabling it again restores it, with the same secret.
ALTER TABLE "api_tokens" ADD COLUMN "enabled" BOOLEAN NOT NULL DEFAULT true;

-- The change notification (see 20261124010000_token_change_notify) now covers "enabled" too, so other
-- instances drop cached verification results when a token is disabled.
DROP TRIGGER "api_tokens_notify_change" ON "api_tokens";
CREATE TRIGGER "api_tokens_notify_change"
AFTER UPDATE OF "secret_hash", "previous_secret_hash", "previous_expires_at", "revoked_at", "expires_at",
  "access", "permissions", "scope_projects", "project_id", "kind", "name", "enabled"
ON "api_tokens"
FOR EACH ROW
EXECUTE FUNCTION "keyward_notify_token_change"();
