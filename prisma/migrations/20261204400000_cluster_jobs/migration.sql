-- When each cluster-wide scheduled job last ran: an instance claims a pass by moving `last_run_at`
-- forward (UPDATE ... WHERE last_run_at is old enough), so the cluster runs it once per interval,
-- however many instances schedule it.
CREATE TABLE "cluster_jobs" (
    "name" TEXT NOT NULL,
    "last_run_at" TIMESTAMPTZ(3) NOT NULL DEFAULT 'epoch',

    CONSTRAINT "cluster_jobs_pkey" PRIMARY KEY ("name")
);

INSERT INTO "cluster_jobs" ("name") VALUES ('cleanup');
