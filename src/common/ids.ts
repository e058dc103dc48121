const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Ids are opaque to clients: a malformed one is simply an id that does not exist (404), and it must
// never reach PostgreSQL, which would reject the uuid cast with a 500.
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
