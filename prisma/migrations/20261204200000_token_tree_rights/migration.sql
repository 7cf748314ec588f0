-- Keyward: rights that hold through the token tree and across renames.

-- 1. Create and revoke serialize in the database: a token is never stored under a revoked ancestor.
--    The insert locks its parent row (FOR SHARE) before checking it, so a revocation of that parent
--    (which holds the row FOR UPDATE until it commits) either finishes first - and the insert sees the
--    parent revoked and fails - or waits until the insert committed, and its next pass over the tree
--    (see TokensRepository.revokeTree) finds the new child.
CREATE OR REPLACE FUNCTION "keyward_refuse_revoked_ancestor"() RETURNS trigger AS $$
DECLARE
  parent_revoked timestamptz;
  ancestor_revoked boolean;
BEGIN
  IF NEW."created_by_id" IS NULL
     OR NEW."created_by_id" !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
    RETURN NEW;
  END IF;
  SELECT "revoked_at" INTO parent_revoked FROM "api_tokens"
   WHERE "id" = NEW."created_by_id"::uuid FOR SHARE;
  IF NOT FOUND OR parent_revoked IS NOT NULL THEN
    RAISE EXCEPTION 'parent token % is revoked', NEW."created_by_id" USING ERRCODE = 'KW001';
  END IF;
  WITH RECURSIVE up("id", "created_by_id", "revoked", "depth") AS (
    SELECT "id", "created_by_id", "revoked_at" IS NOT NULL, 0 FROM "api_tokens"
     WHERE "id" = NEW."created_by_id"::uuid
    UNION ALL
    SELECT t."id", t."created_by_id", t."revoked_at" IS NOT NULL, up."depth" + 1
      FROM "api_tokens" t JOIN up
        ON t."id" = (CASE WHEN up."created_by_id" ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                          THEN up."created_by_id"::uuid END)
     WHERE up."depth" < 64
  )
  SELECT bool_or("revoked") INTO ancestor_revoked FROM up;
  IF ancestor_revoked THEN
    RAISE EXCEPTION 'an ancestor of token % is revoked', NEW."id" USING ERRCODE = 'KW001';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "api_tokens_refuse_revoked_ancestor"
BEFORE INSERT ON "api_tokens"
FOR EACH ROW
EXECUTE FUNCTION "keyward_refuse_revoked_ancestor"();

-- 2. Tokens-file entries confine tokens by project name. They reach a project only while it bears the
--    name it was created with: a rename (by whoever) never hands a tokens-file token a project.
ALTER TABLE "projects" ADD COLUMN "renamed_at" TIMESTAMPTZ(3);

-- 3. A project name never reads as a project id: names shaped like a UUID are refused (existing rows
--    are left as they are; ids and names are looked up separately anyway).
ALTER TABLE "projects" ADD CONSTRAINT "projects_name_not_uuid"
  CHECK ("name" !~* '^\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*$') NOT VALID;
