// A bare Nest app serving GET /api/agent/{run_id}/status (Nest 12 on Express, pg, jose with a key
// made once, a global guard that verifies the bearer token and puts the user on the request, a
// service reading the run by id and owner, the product's JSON), in three variants (SCOPE):
//   request    the route's services request-scoped: a REQUEST-scoped UserContext reading the
//              request, the five request-scoped services of the product's path that take it
//              (MessageHandlerService, AgentService, ThreadService, ApprovalService, UsageService),
//              and so a controller made per request, with the constructor parameters the product's
//              classes have (singletons stand in for the ones the status route does not use);
//   durable    the same, durable: a ContextIdStrategy keyed by the user, verified by a middleware
//              before routing, so Nest builds the subtree once per user (the product's shape);
//   singleton  the same classes as singletons, the user read from an AsyncLocalStorage that a
//              middleware opens per request.
// Plain JavaScript, run by node as the other baselines are: Nest's decorators are applied by hand
// below (with the design:paramtypes metadata TypeScript would emit), so nothing compiles at start.
import { AsyncLocalStorage } from 'node:async_hooks';
// Named imports: Nest 12 is an ES module (Nest 11's CommonJS gave a default export to take apart).
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Scope,
  UnauthorizedException,
} from '@nestjs/common';
import { APP_GUARD, ContextIdFactory, NestFactory, REQUEST } from '@nestjs/core';
import { jwtVerify } from 'jose';
import pg from 'pg';

const SCOPE = process.env.SCOPE;
if (!['request', 'durable', 'singleton'].includes(SCOPE))
  throw new Error('SCOPE must be request, durable or singleton');
const scoped =
  SCOPE === 'singleton' ? undefined : { scope: Scope.REQUEST, durable: SCOPE === 'durable' };

const key = new TextEncoder().encode(process.env.JWT_SECRET);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// What `@Injectable(options)` and TypeScript's emitted constructor types do to a class.
function provider(cls, deps = [], options) {
  Injectable(options)(cls);
  Reflect.defineMetadata('design:paramtypes', deps, cls);
  return cls;
}

// Singletons the product's request-scoped classes take and the status route does not call: each
// is one more constructor parameter the injector resolves for every request in the request variant.
const stub = (name) => provider({ [name]: class {} }[name]);
const ThreadStore = stub('ThreadStore');
const StatePersistenceService = stub('StatePersistenceService');
const RunEventStream = stub('RunEventStream');
const ApprovalStore = stub('ApprovalStore');
const UsageStore = stub('UsageStore');
const IdempotencyService = stub('IdempotencyService');
const AgentRegistry = stub('AgentRegistry');
const ModelProvider = stub('ModelProvider');
const StreamTicketStore = stub('StreamTicketStore');
const SseWriter = stub('SseWriter');
class ConfigService {
  get(_name) {
    return undefined;
  }
}
provider(ConfigService);

// The product's read (RunStore.findByRef for a uuid: TypeORM's findOneBy id and user_id), as the
// Express baseline does it.
class RunStore {
  async findById(userId, id) {
    const { rows } = await pool.query(
      `SELECT id, thread_id, status, query, client_run_id, agent, model, usage, result, error,
              created_at, updated_at, started_at, finished_at
       FROM runs WHERE id = $1 AND user_id = $2`,
      [id, userId],
    );
    return rows[0] ?? null;
  }
}
provider(RunStore);

// The request (request variant) or the AsyncLocalStorage's request (singleton variant): either way
// the guard has put `user` on it by the time a service reads it.
const CARRIER = 'CARRIER';
const requests = new AsyncLocalStorage();
const alsCarrier = {
  get user() {
    return requests.getStore()?.user;
  },
};

class UserContext {
  constructor(carrier) {
    this.carrier = carrier;
  }
  get userId() {
    const user = this.carrier.user;
    if (!user?.id) throw new UnauthorizedException('Not authenticated');
    return user.id;
  }
}
provider(UserContext, [Object], scoped);
Inject(SCOPE === 'singleton' ? CARRIER : REQUEST)(UserContext, undefined, 0);

class AgentService {
  constructor(ctx, runs, _threads, _persistence, _stream, config) {
    this.ctx = ctx;
    this.runs = runs;
    this.maxActive = config.get('MAX_ACTIVE_RUNS') ?? 5;
  }
  async status(ref) {
    const run = UUID.test(ref) ? await this.runs.findById(this.ctx.userId, ref) : null;
    if (!run) throw new NotFoundException(`run ${ref} not found`);
    return statusView(run);
  }
}
provider(
  AgentService,
  [UserContext, RunStore, ThreadStore, StatePersistenceService, RunEventStream, ConfigService],
  scoped,
);

class ThreadService {
  constructor(ctx, store) {
    this.ctx = ctx;
    this.store = store;
  }
}
provider(ThreadService, [UserContext, ThreadStore], scoped);

class ApprovalService {
  constructor(ctx, store, runs, persistence) {
    Object.assign(this, { ctx, store, runs, persistence });
  }
}
provider(ApprovalService, [UserContext, ApprovalStore, RunStore, StatePersistenceService], scoped);

class UsageService {
  constructor(ctx, store, config) {
    Object.assign(this, { ctx, store });
    this.prices = new Map([
      ['offline', { input: 0, output: 0 }],
      ...(config.get('LLM_PRICES') ?? []),
    ]);
  }
}
provider(UsageService, [UserContext, UsageStore, ConfigService], scoped);

class MessageHandlerService {
  constructor(ctx, agents, ...rest) {
    this.ctx = ctx;
    this.agents = agents;
    this.rest = rest;
  }
  getRunStatus(runId) {
    return this.agents.status(runId);
  }
}
provider(
  MessageHandlerService,
  [
    UserContext,
    AgentService,
    ThreadService,
    ThreadStore,
    StatePersistenceService,
    ApprovalService,
    IdempotencyService,
    AgentRegistry,
    ModelProvider,
    StreamTicketStore,
    ConfigService,
    UsageService,
  ],
  scoped,
);

class AgentController {
  constructor(handler, sse) {
    this.handler = handler;
    this.sse = sse;
  }
  status(runId) {
    return this.handler.getRunStatus(runId);
  }
}
Controller('agent')(AgentController);
Reflect.defineMetadata('design:paramtypes', [MessageHandlerService, SseWriter], AgentController);
route(AgentController, 'status', ':run_id/status');
Param('run_id')(AgentController.prototype, 'status', 0);

class HealthController {
  live() {
    return { status: 'ok' };
  }
}
Controller('health')(HealthController);
route(HealthController, 'live', 'live');

// A method decorator applied by hand, as TypeScript's __decorate does it.
function route(cls, method, path) {
  const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, method);
  Object.defineProperty(
    cls.prototype,
    method,
    Get(path)(cls.prototype, method, descriptor) ?? descriptor,
  );
}

async function verify(req) {
  const header = req.headers.authorization;
  if (!header?.startsWith('Bearer ')) throw new Error('no token');
  const { payload } = await jwtVerify(header.slice(7), key, {
    algorithms: ['HS256'],
    requiredClaims: ['exp', 'sub'],
  });
  return { id: payload.sub, expiresAt: payload.exp * 1000 };
}

class AuthGuard {
  async canActivate(context) {
    // The readiness probe is public (the product marks it @Public()).
    if (context.getClass() === HealthController) return true;
    const req = context.switchToHttp().getRequest();
    // The durable variant verified the token before routing.
    if (SCOPE === 'durable') {
      if (!req.user) throw new UnauthorizedException('Not authenticated');
      return true;
    }
    try {
      req.user = await verify(req);
    } catch {
      throw new UnauthorizedException('Not authenticated');
    }
    return true;
  }
}

// The durable variant's strategy: one subtree per user, its REQUEST the payload { user }.
class PerUserStrategy {
  users = new Map();
  anonymous = ContextIdFactory.create();
  attach(contextId, request) {
    const id = request.user?.id;
    let durable = id ? this.users.get(id) : this.anonymous;
    if (!durable) this.users.set(id, (durable = ContextIdFactory.create()));
    return {
      resolve: (info) => (info.isTreeDurable ? durable : contextId),
      payload: { user: request.user },
    };
  }
}
if (SCOPE === 'durable') ContextIdFactory.apply(new PerUserStrategy());
provider(AuthGuard);

class AppModule {}
Module({
  controllers: [AgentController, HealthController],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: CARRIER, useValue: alsCarrier },
    RunStore,
    ConfigService,
    ThreadStore,
    StatePersistenceService,
    RunEventStream,
    ApprovalStore,
    UsageStore,
    IdempotencyService,
    AgentRegistry,
    ModelProvider,
    StreamTicketStore,
    SseWriter,
    UserContext,
    AgentService,
    ThreadService,
    ApprovalService,
    UsageService,
    MessageHandlerService,
  ],
})(AppModule);

// RunStatusView.of: the product's answer.
function statusView(run) {
  const models = Object.values(run.usage);
  return {
    run_id: run.id,
    thread_id: run.thread_id,
    status: run.status,
    query: run.query,
    client_run_id: run.client_run_id,
    agent: run.agent,
    model: run.model,
    usage: {
      input_tokens: models.reduce((n, m) => n + m.input_tokens, 0),
      output_tokens: models.reduce((n, m) => n + m.output_tokens, 0),
      models: run.usage,
    },
    created_at: run.created_at.toISOString(),
    updated_at: run.updated_at.toISOString(),
    started_at: run.started_at?.toISOString() ?? null,
    finished_at: run.finished_at?.toISOString() ?? null,
    ...(run.result !== null ? { result: run.result } : {}),
    ...(run.error !== null ? { error: run.error } : {}),
  };
}

const app = await NestFactory.create(AppModule, { logger: false });
// Only the singleton variant needs the request in an AsyncLocalStorage: its price is part of it.
if (SCOPE === 'singleton') app.use((req, _res, next) => requests.run(req, next));
if (SCOPE === 'durable')
  app.use((req, _res, next) =>
    verify(req).then(
      (user) => ((req.user = user), next()),
      () => next(),
    ),
  );
app.setGlobalPrefix('api', { exclude: ['health/live'] });
await app.listen(Number(process.env.PORT), '127.0.0.1');
