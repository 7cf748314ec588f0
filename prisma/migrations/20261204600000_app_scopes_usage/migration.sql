-- Application scopes, metadata, owner, per-token rate limits and usage credits.
ALTER TABLE api_tokens
  ADD COLUMN scopes text[] NOT NULL DEFAULT '{}',
  ADD COLUMN meta jsonb,
  ADD COLUMN owner text,
  ADD COLUMN ratelimit_limit integer,
  ADD COLUMN ratelimit_duration_ms integer,
  ADD COLUMN remaining integer,
  ADD COLUMN refill_amount integer,
  ADD COLUMN refill_interval_ms integer,
  ADD COLUMN refilled_at timestamptz(3),
  ADD CONSTRAINT api_tokens_scopes_max CHECK (cardinality(scopes) <= 64),
  ADD CONSTRAINT api_tokens_remaining_nonnegative CHECK (remaining IS NULL OR remaining >= 0),
  ADD CONSTRAINT api_tokens_ratelimit_pair CHECK ((ratelimit_limit IS NULL) = (ratelimit_duration_ms IS NULL)),
  ADD CONSTRAINT api_tokens_refill_pair CHECK ((refill_amount IS NULL) = (refill_interval_ms IS NULL));

CREATE INDEX api_tokens_owner_idx ON api_tokens (owner) WHERE owner IS NOT NULL;

-- Per-token rate-limit windows, in rate-limiter-flexible's RateLimiterPostgres layout (one row per token
-- and window: consumed points and the window's end in epoch milliseconds).
CREATE TABLE ratelimits (
  key varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
);
