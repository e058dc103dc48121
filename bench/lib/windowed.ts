// Runs task(0) .. task(count - 1) with at most `width` in flight, starting the next as soon as one
// ends: a storm as fast as the server takes it, without more connects in flight than its listen
// backlog holds (past it the kernel drops SYNs, and a dropped SYN is retried after a whole second).
export async function windowed<T>(
  count: number,
  width: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
  return results;
}
