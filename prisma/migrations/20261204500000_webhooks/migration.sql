-- Webhook endpoints: a URL, the events it subscribes to, its signing secret (Standard Webhooks
-- `whsec_` form; kept in clear because every delivery is signed with it), and the project scope of the
-- credential that created it (`unscoped`: every project).
CREATE TABLE "webhooks" (
    "id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "description" TEXT,
    "events" TEXT[] NOT NULL,
    "secret" TEXT NOT NULL,
    "previous_secret" TEXT,
    "previous_expires_at" TIMESTAMPTZ(3),
    "unscoped" BOOLEAN NOT NULL,
    "scope_projects" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "created_by_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhooks_pkey" PRIMARY KEY ("id")
);

-- The delivery queue and its log: one row per (event, endpoint); `id` is the `webhook-id` header,
-- the same on every attempt. Workers claim due rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE "webhook_deliveries" (
    "id" TEXT NOT NULL,
    "webhook_id" UUID NOT NULL,
    "event_type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_attempt_at" TIMESTAMPTZ(3),
    "last_status_code" INTEGER,
    "last_error" TEXT,
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "webhook_deliveries_webhook_id_fkey" FOREIGN KEY ("webhook_id") REFERENCES "webhooks"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "webhook_deliveries_status_next_attempt_at_idx" ON "webhook_deliveries"("status", "next_attempt_at");
CREATE INDEX "webhook_deliveries_webhook_id_created_at_idx" ON "webhook_deliveries"("webhook_id", "created_at");

-- Expiry notices already announced (`expiring:<lead ms>` or `expired`), so each is sent once across
-- instances and restarts; goes with the token.
CREATE TABLE "token_expiry_notices" (
    "token_id" UUID NOT NULL,
    "notice" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "token_expiry_notices_pkey" PRIMARY KEY ("token_id", "notice"),
    CONSTRAINT "token_expiry_notices_token_id_fkey" FOREIGN KEY ("token_id") REFERENCES "api_tokens"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- A token deleted after it expired (the cleanup job, a project's deletion) before `token.expired` was
-- announced for it: kept here (never a secret or hash) until the expiry scan announces it. Only while
-- some webhook subscribes to `token.expired`.
CREATE TABLE "token_expired_outbox" (
    "token_id" UUID NOT NULL,
    "token" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "token_expired_outbox_pkey" PRIMARY KEY ("token_id")
);

CREATE OR REPLACE FUNCTION "keyward_keep_expired_token"() RETURNS trigger AS $$
BEGIN
  IF OLD."revoked_at" IS NULL AND OLD."expires_at" IS NOT NULL AND OLD."expires_at" <= now()
     AND NOT EXISTS (SELECT 1 FROM "token_expiry_notices" n WHERE n."token_id" = OLD."id" AND n."notice" = 'expired')
     AND EXISTS (SELECT 1 FROM "webhooks" w WHERE 'token.expired' = ANY (w."events")) THEN
    INSERT INTO "token_expired_outbox" ("token_id", "token")
    VALUES (OLD."id", jsonb_build_object(
      'id', OLD."id", 'name', OLD."name", 'kind', OLD."kind", 'project_id', OLD."project_id",
      'scope_projects', to_jsonb(OLD."scope_projects"), 'permissions', to_jsonb(OLD."permissions"),
      'created_at', OLD."created_at", 'expires_at', OLD."expires_at"))
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "api_tokens_keep_expired"
BEFORE DELETE ON "api_tokens"
FOR EACH ROW
EXECUTE FUNCTION "keyward_keep_expired_token"();
