-- Keyward: one model of rights. Every stored permission list is explicit: rows written before this
-- migration with an empty list (read as what `access` stood for) get that list spelled out, and an
-- empty list can no longer be stored. `access` stays as a derived column for display and filtering.
UPDATE "api_tokens"
SET "permissions" = CASE "access"
  WHEN 'write' THEN ARRAY['create:*', 'read:*', 'update:*', 'delete:*']::text[]
  ELSE ARRAY['read:*']::text[]
END
WHERE cardinality("permissions") = 0;

ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_permissions_not_empty" CHECK (cardinality("permissions") > 0);

-- The token tree: revoking a token revokes every token created through it (created_by_id).
CREATE INDEX "api_tokens_created_by_id_idx" ON "api_tokens"("created_by_id");
