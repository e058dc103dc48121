export default async function globalTeardown(): Promise<void> {
  await globalThis.__NETRA_EMBEDDED_PG__?.stop();
}
