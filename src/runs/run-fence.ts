// Who writes to a run. A person acting on their own run (a cancel, an approval) writes as its owner;
// the executor writes under the claim it holds, and once a newer claim exists (another instance took
// the run over) every write of the older one is refused.
export interface RunOwner {
  userId: string;
  runId: string;
}

export interface RunClaim extends RunOwner {
  attempt: number;
}

export type RunWriterRef = RunOwner & { attempt?: number };

export function attemptOf(writer: RunWriterRef): number | null {
  return writer.attempt ?? null;
}

// The one fencing rule, as SQL over a `runs` row aliased `alias`: the owner's run, and, for an
// executor, only while its claim is the newest. `$run`, `$user` and `$attempt` are the positions of
// the parameters (attempt NULL for an owner). Every write of a run's events, status, checkpoint and
// usage carries it in the statement that writes, so the check and the write cannot be split.
export function fenced(alias: string, run: number, user: number, attempt: number): string {
  return fencedBy(alias, `$${run}::uuid`, `$${user}`, `$${attempt}::int`);
}

// The same rule over SQL expressions: the columns of a batch of writers (group commit).
export function fencedBy(alias: string, run: string, user: string, attempt: string): string {
  return (
    `${alias}.id = ${run} AND ${alias}.user_id = ${user} ` +
    `AND (${attempt} IS NULL OR ${alias}.attempt = ${attempt})`
  );
}

export function fenceParams(writer: RunWriterRef): [string, string, number | null] {
  return [writer.runId, writer.userId, attemptOf(writer)];
}
