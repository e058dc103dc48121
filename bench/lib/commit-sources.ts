import { TappedTransaction } from './pg-wire-tap';

// What a tapped transaction did, in a few words: the connection (its application_name, or the
// app's pool) and, in order, each table it wrote (with the first column an UPDATE sets, which
// tells pg-boss's fetch from its completion and a run's event from its usage) or, for a read, the
// table read; NOTIFY and locks beside them.
// e.g. "app pool: UPDATE runs (last_seq), INSERT run_events, NOTIFY".
export function describe(tx: TappedTransaction): string {
  const ops: string[] = [];
  // A simple query may hold several statements (pg-boss sends `BEGIN; ...; COMMIT;` in one): each
  // is described (split at semicolons, which is near enough for a description).
  const statements = tx.statements.flatMap((sql) => sql.split(/;\s*/)).filter(Boolean);
  for (const sql of statements) {
    if (/^(begin|start transaction|commit|rollback|set local)\b/i.test(sql)) continue;
    const found: { at: number; op: string }[] = [];
    for (const m of sql.matchAll(/\bINSERT INTO\s+("?[\w.]+"?)/gi)) {
      const upsert = /\bON CONFLICT\b[^;]*\bDO UPDATE\b/i.test(sql.slice(m.index));
      found.push({ at: m.index, op: `${upsert ? 'UPSERT' : 'INSERT'} ${table(m[1])}` });
    }
    for (const m of sql.matchAll(
      /\bUPDATE\s+("?[\w.]+"?)\s+(?:AS\s+)?(?:\w+\s+)?SET\s+("?\w+"?)/gi,
    )) {
      found.push({ at: m.index, op: `UPDATE ${table(m[1])} (${table(m[2])})` });
    }
    for (const m of sql.matchAll(/\bDELETE FROM\s+("?[\w.]+"?)/gi)) {
      found.push({ at: m.index, op: `DELETE ${table(m[1])}` });
    }
    if (found.length === 0) {
      const from = /\bFROM\s+("?[\w.]+"?)/i.exec(sql);
      if (/pg_advisory_xact_lock/i.test(sql)) found.push({ at: 0, op: 'advisory lock' });
      else if (from) {
        const locks = /\bFOR (NO KEY )?UPDATE\b|\bFOR (KEY )?SHARE\b/i.test(sql);
        found.push({ at: 0, op: `${locks ? 'LOCK' : 'SELECT'} ${table(from[1])}` });
      }
    }
    if (/\bpg_notify\s*\(/i.test(sql)) found.push({ at: sql.length, op: 'NOTIFY' });
    if (found.length === 0) found.push({ at: 0, op: sql.split(' ').slice(0, 3).join(' ') });
    ops.push(...found.sort((a, b) => a.at - b.at).map((f) => f.op));
  }
  return `${tx.app || 'app pool'}: ${ops.join(', ')}`;
}

// Whether the transaction changed anything, as far as the wire tells: a write that reported rows
// (`INSERT 0 1`, `UPDATE 2`), a NOTIFY, or a write inside a WITH whose tag does not count its rows
// (`WITH x AS (UPDATE ...) SELECT count(*)`, pg-boss's completion: counted as a write even when it
// matched nothing).
export function writes(tx: TappedTransaction): boolean {
  if (tx.tags.some((t) => /^INSERT \d+ [1-9]|^(UPDATE|DELETE|MERGE) [1-9]/.test(t))) return true;
  return tx.statements.some(
    (sql) =>
      /\bpg_notify\s*\(/i.test(sql) ||
      (/\(\s*(INSERT|UPDATE|DELETE)\b/i.test(sql) && /^\s*WITH\b[\s\S]*\)\s*SELECT\b/i.test(sql)),
  );
}

export interface SourceCount {
  source: string;
  perRun: number;
}

// Commits per run by source: those of the busy lifetimes less those of the idle ones (same
// length, same start), over the runs made; sources under 0.05 a run either way are left out.
export function perRunSources(
  busy: TappedTransaction[],
  idle: TappedTransaction[],
  runs: number,
): SourceCount[] {
  const counts = new Map<string, number>();
  for (const tx of busy)
    if (tx.committed) counts.set(describe(tx), (counts.get(describe(tx)) ?? 0) + 1);
  for (const tx of idle)
    if (tx.committed) counts.set(describe(tx), (counts.get(describe(tx)) ?? 0) - 1);
  return [...counts]
    .map(([source, n]) => ({ source, perRun: n / runs }))
    .filter((s) => Math.abs(s.perRun) >= 0.05)
    .sort((a, b) => b.perRun - a.perRun);
}

function table(name: string): string {
  return name.replace(/"/g, '');
}
