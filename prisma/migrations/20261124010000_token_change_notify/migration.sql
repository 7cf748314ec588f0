-- Keyward: tell every instance sharing this database when a token's verification-relevant fields
-- change (revocation, rotation, narrowing), so that cached verification results are dropped within
-- milliseconds. Deleted rows need no notice: the cleanup job only deletes expired, used single-use
-- (never cached) and long-revoked tokens. last_used_at updates do not notify.
CREATE OR REPLACE FUNCTION "keyward_notify_token_change"() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('keyward_token_changed', NEW."id"::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- CreateTrigger
CREATE TRIGGER "api_tokens_notify_change"
AFTER UPDATE OF "secret_hash", "previous_secret_hash", "previous_expires_at", "revoked_at", "expires_at",
  "access", "permissions", "scope_projects", "project_id", "kind", "name"
ON "api_tokens"
FOR EACH ROW
EXECUTE FUNCTION "keyward_notify_token_change"();
