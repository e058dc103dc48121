// What the two fan-out baselines share: one LISTEN connection on the product's channel, and per run
// followed here one room of targets (sockets or streams). A notification of a run with a room hands
// on the events it carries, or reads the new rows once (`seq > last`); each event is encoded once
// and the same bytes go to every target that has not had it. What a competent engineer would write for "one run,
// many followers, PostgreSQL as the bus", and nothing else.
import pg from 'pg';

const CHANNEL = 'netra_run_events';
const TERMINAL = new Set(['complete', 'failed', 'cancelled']);
const COLUMNS = 'run_id, thread_id, seq, type, agent_name, data, created_at';

// The product's event object (src/runs/run-event.ts toRunEvent), field for field.
const eventOf = (row) => ({
  run_id: row.run_id,
  thread_id: row.thread_id,
  seq: row.seq,
  type: row.type,
  agent_name: row.agent_name,
  data: row.data,
  timestamp: row.created_at.toISOString(),
});

export class RunFeeds {
  // encode(event) -> Buffer: once per event, whatever the number of targets.
  constructor(databaseUrl, encode) {
    this.databaseUrl = databaseUrl;
    this.encode = encode;
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
    this.rooms = new Map(); // run id -> { last, targets: Map<target, seq>, reading, again }
  }

  async listen() {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    // `<run_id>:<seq>`, or `<run_id>:<seq>:<events JSON>` as the product sends when they fit: the
    // events right after what the room has go out without a read.
    client.on('notification', ({ payload }) => {
      const runId = payload.slice(0, 36);
      const room = this.rooms.get(runId);
      if (!room) return;
      const rest = payload.slice(37);
      const colon = rest.indexOf(':');
      const seq = Number(colon < 0 ? rest : rest.slice(0, colon));
      if (seq <= room.last) return;
      const events = colon < 0 ? null : JSON.parse(rest.slice(colon + 1));
      if (!room.reading && events?.[0]?.seq === room.last + 1) this.hand(room, events);
      else this.pull(runId, room);
    });
    await client.query(`LISTEN ${CHANNEL}`);
  }

  // The run if `user` owns it: { lastSeq, ended }, else null.
  async find(runId, user) {
    const { rows } = await this.pool.query(
      'SELECT last_seq, status FROM runs WHERE id = $1 AND user_id = $2',
      [runId, user],
    );
    return rows[0] ? { lastSeq: rows[0].last_seq, ended: TERMINAL.has(rows[0].status) } : null;
  }

  // target.send(bytes) from seq `after` on: the stored events it is behind on first, read for it
  // alone, then the room's.
  async join(runId, target, after, lastSeq) {
    let room = this.rooms.get(runId);
    if (!room) {
      room = { last: lastSeq, targets: new Map(), reading: false, again: false };
      this.rooms.set(runId, room);
    }
    let position = after;
    while (position < room.last) {
      const rows = await this.read(runId, position);
      if (rows.length === 0) break;
      for (const row of rows) target.send(this.encode(eventOf(row)));
      position = rows[rows.length - 1].seq;
    }
    room.targets.set(target, position);
  }

  leave(runId, target) {
    const room = this.rooms.get(runId);
    if (!room) return;
    room.targets.delete(target);
    if (room.targets.size === 0) this.rooms.delete(runId);
  }

  read(runId, after) {
    return this.pool
      .query(`SELECT ${COLUMNS} FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq`, [
        runId,
        after,
      ])
      .then((r) => r.rows);
  }

  // One read at a time per run; again if more was announced meanwhile.
  async pull(runId, room) {
    if (room.reading) {
      room.again = true;
      return;
    }
    room.reading = true;
    try {
      do {
        room.again = false;
        this.hand(room, (await this.read(runId, room.last)).map(eventOf));
      } while (room.again);
    } finally {
      room.reading = false;
    }
  }

  hand(room, events) {
    for (const event of events) {
      room.last = event.seq;
      const bytes = this.encode(event);
      for (const [target, position] of room.targets) {
        if (position >= event.seq) continue;
        room.targets.set(target, event.seq);
        target.send(bytes);
      }
    }
  }
}
