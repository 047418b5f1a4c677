-- An API key may carry an expiry: after it, the key authenticates nothing, and a live
-- subscription opened with it is closed within a second (resolvers.subscriptions).
ALTER TABLE api_key ADD COLUMN expires_at timestamptz;
