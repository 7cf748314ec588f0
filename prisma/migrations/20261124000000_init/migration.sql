-- CreateEnum
CREATE TYPE "TokenAccess" AS ENUM ('read', 'write');

-- CreateEnum
CREATE TYPE "TokenKind" AS ENUM ('global', 'project');

-- CreateTable
CREATE TABLE "projects" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "projects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL,
    "lookup_id" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "stub" TEXT NOT NULL,
    "kind" "TokenKind" NOT NULL,
    "access" "TokenAccess" NOT NULL,
    "permissions" TEXT[],
    "project_id" UUID,
    "scope_projects" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "name" TEXT,
    "description" TEXT,
    "created_by_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "remove_on_use" BOOLEAN NOT NULL DEFAULT false,
    "used_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "previous_secret_hash" TEXT,
    "previous_expires_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "projects_name_key" ON "projects"("name");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_lookup_id_key" ON "api_tokens"("lookup_id");

-- CreateIndex
CREATE INDEX "api_tokens_kind_created_at_id_idx" ON "api_tokens"("kind", "created_at", "id");

-- CreateIndex
CREATE INDEX "api_tokens_project_id_created_at_id_idx" ON "api_tokens"("project_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "api_tokens_expires_at_idx" ON "api_tokens"("expires_at");

-- CreateIndex
CREATE INDEX "api_tokens_used_at_idx" ON "api_tokens"("used_at");

-- CreateIndex
CREATE INDEX "api_tokens_revoked_at_idx" ON "api_tokens"("revoked_at");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_project_id_name_key" ON "api_tokens"("project_id", "name");

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
