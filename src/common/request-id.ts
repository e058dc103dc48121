// The correlation id of a request (set by pino-http) or a WebSocket frame, as a string.
export function requestIdOf(carrier: { id?: unknown }): string {
  const id = carrier.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : '';
}
