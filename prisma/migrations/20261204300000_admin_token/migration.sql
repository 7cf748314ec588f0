-- At most one live admin token created at first start (created_by_id = 'bootstrap'): two instances
-- starting together on an empty database create one between them.
CREATE UNIQUE INDEX "api_tokens_one_live_admin_key" ON "api_tokens" ("created_by_id")
  WHERE "created_by_id" = 'bootstrap' AND "revoked_at" IS NULL;
