import { DataSource, EntityManager } from 'typeorm';

// One database transaction, with work to do once it has committed (an in-process event bus
// publishes there; PostgreSQL delivers a NOTIFY at commit by itself).
export class Tx {
  private readonly committed: (() => void)[] = [];

  constructor(readonly manager: EntityManager) {}

  // The rows a statement returned, whatever its command (TypeORM's query() answers an UPDATE with
  // [rows, count] and a SELECT with rows).
  async rows<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const runner = this.manager.queryRunner;
    if (!runner) throw new Error('Tx.rows outside a transaction');
    return (await runner.query(text, params, true)).records as T[];
  }

  afterCommit(fn: () => void): void {
    this.committed.push(fn);
  }

  static async run<T>(db: DataSource, work: (tx: Tx) => Promise<T>): Promise<T> {
    let tx: Tx | undefined;
    const result = await db.transaction((manager) => work((tx = new Tx(manager))));
    tx?.committed.forEach((fn) => fn());
    return result;
  }
}
