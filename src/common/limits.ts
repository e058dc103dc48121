// Bounds on numbers clients send, so no value can overflow a PostgreSQL int4 into a 500.
export const MAX_SEQ = 2_147_483_647;
export const MAX_OFFSET = 1_000_000_000;
// The largest JSON body (REST) or frame (WebSocket) accepted: the same on both channels.
export const MAX_BODY_BYTES = 1024 * 1024;
// The longest query string accepted (414 beyond).
export const MAX_QUERY_BYTES = 2048;
