import { Deliveries } from './deliveries';
import { windowed } from './windowed';
import { seqOf } from './ws-subscriber';

describe('fan-out bookkeeping', () => {
  it('takes commit-to-frame latency per frame and counts a seq out of order or twice', () => {
    const deliveries = new Deliveries();
    deliveries.committed(5, 100);
    deliveries.committed(6, 150);
    const sink = deliveries.sink(4);
    sink.frame(5, 103);
    sink.frame(6, 160);
    sink.frame(6, 161);
    expect(deliveries.latencies).toEqual([3, 10, 11]);
    expect(deliveries.frames).toBe(3);
    expect(deliveries.problems).toBe(1);
  });

  it('resolves once the frames it waits for are in, or at its deadline', async () => {
    const deliveries = new Deliveries();
    deliveries.committed(1, 0);
    const waiting = deliveries.delivered(2, 60_000);
    deliveries.sink(0).frame(1, 1);
    deliveries.sink(0).frame(1, 1);
    await waiting;
    await deliveries.delivered(10, 1);
    expect(deliveries.frames).toBe(2);
  });

  it('reads the seq of an event frame from its bytes', () => {
    const frame = { type: 'agent_update', payload: { run_id: 'r', thread_id: 't', seq: 4217 } };
    expect(seqOf(Buffer.from(JSON.stringify(frame)))).toBe(4217);
  });

  it('runs tasks with at most `width` in flight, in order of index', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await windowed(10, 3, async (i) => {
      most = Math.max(most, ++inFlight);
      await Promise.resolve();
      inFlight -= 1;
      return i * 2;
    });
    expect(results).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(most).toBe(3);
  });
});
