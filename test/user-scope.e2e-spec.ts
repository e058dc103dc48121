import { SignJWT } from 'jose';
import { UserContextStrategy } from '../src/context/user-context.strategy';
import { MessageHandlerService } from '../src/messaging/message-handler.service';
import { AgentGateway } from '../src/ws/agent.gateway';
import { userContextsBuilt } from '../src/metrics/metrics';
import { RestClient } from './support/rest-client';
import { startTestApp, TestApp } from './support/test-app';
import { WsClient } from './support/ws-client';

const USERS = 50;
const HELD = 60;

// The shared services are request-scoped and durable: Nest builds them once per verified user
// (UserContextStrategy) and serves that user's requests and frames, on every channel, with them.
describe('request-scoped shared services, one subtree per user', () => {
  let t: TestApp;
  // Calls through; records which MessageHandlerService instance served each thread's creation
  // (the title names the requester).
  const spy = jest.spyOn(MessageHandlerService.prototype, 'handleCreateThread');
  // And which gateway instance took each socket (the gateway is request-scoped too).
  const connected = jest.spyOn(AgentGateway.prototype, 'handleConnection');
  const servedBy = (title: string) => {
    const call = spy.mock.calls.findIndex(([dto]) => dto.title === title);
    return call < 0 ? undefined : (spy.mock.contexts[call] as MessageHandlerService);
  };

  beforeAll(async () => (t = await startTestApp({ env: { USER_CONTEXTS_MAX: String(HELD) } })));
  afterAll(async () => {
    spy.mockRestore();
    connected.mockRestore();
    await t.close();
  });

  const built = async () => (await userContextsBuilt.get()).values[0]?.value ?? 0;
  const held = () => t.app.get(UserContextStrategy).held;
  const createOverRest = async (user: string, title: string) => {
    const res = await new RestClient(t.http, await t.token(user)).post('/api/threads', { title });
    expect(res.status).toBe(201);
  };

  it("serves each user's requests and frames with that user's one instance, never another's", async () => {
    const users = Array.from({ length: USERS }, (_, i) => `mixed-${i}`);
    const mismatches: string[] = [];
    await Promise.all(
      users.map(async (user) => {
        const token = await t.token(user);
        const rest = new RestClient(t.http, token);
        const ws = await WsClient.connect(t.ws, { token });
        const second = await WsClient.connect(t.ws, { token });
        try {
          await Promise.all([
            createOverRest(user, `${user}/rest/0`),
            createOverRest(user, `${user}/rest/1`),
            ws.request('create_thread', { title: `${user}/ws/0` }),
            ws.request('create_thread', { title: `${user}/ws/1` }),
          ]);
          // Every answer is the user's own: four threads, all titled for the user, on both channels.
          const [overRest, overWs] = await Promise.all([
            rest.get('/api/threads?limit=100'),
            ws.request('list_threads', { limit: 100 }),
          ]);
          for (const page of [overRest.body, overWs.payload]) {
            const titles = (page.items as { title: string }[]).map((thread) => thread.title);
            if (titles.length !== 4 || titles.some((title) => !title.startsWith(`${user}/`)))
              mismatches.push(`${user}: ${titles.join(', ')}`);
          }
          expect((await second.request('list_threads', {})).payload.items).toHaveLength(4);
        } finally {
          await second.close();
          await ws.close();
        }
      }),
    );
    expect(mismatches).toEqual([]);

    // One instance per user, the same over REST and WebSocket, and no instance serving two users.
    const instanceOf = new Map<string, Set<MessageHandlerService>>();
    const usersOf = new Map<MessageHandlerService, Set<string>>();
    for (const [call, [dto]] of spy.mock.calls.entries()) {
      const instance = spy.mock.contexts[call] as MessageHandlerService;
      const user = dto.title!.split('/')[0];
      instanceOf.set(user, (instanceOf.get(user) ?? new Set()).add(instance));
      usersOf.set(instance, (usersOf.get(instance) ?? new Set()).add(user));
    }
    expect(spy.mock.calls).toHaveLength(USERS * 4);
    expect(instanceOf.size).toBe(USERS);
    expect([...instanceOf.values()].every((instances) => instances.size === 1)).toBe(true);
    expect(usersOf.size).toBe(USERS);
    expect([...usersOf.values()].every((owners) => owners.size === 1)).toBe(true);
    expect(held()).toBe(USERS);

    // The gateway: one instance per user, for both of the user's sockets.
    const gatewayUsers = new Map<AgentGateway, Set<string>>();
    for (const [call, [socket]] of connected.mock.calls.entries()) {
      const gateway = connected.mock.contexts[call] as AgentGateway;
      const user = (socket as never as { verifiedUser?: { id: string } }).verifiedUser;
      gatewayUsers.set(gateway, (gatewayUsers.get(gateway) ?? new Set()).add(String(user?.id)));
    }
    expect(connected).toHaveBeenCalledTimes(USERS * 2);
    expect(gatewayUsers.size).toBe(USERS);
    expect([...gatewayUsers.values()].every((owners) => owners.size === 1)).toBe(true);
  });

  it("lets the least recently used users go past USER_CONTEXTS_MAX, and rebuilds one's subtree on its next request", async () => {
    // HELD fresh users, one after another: every earlier user is let go, evict-0 is now the oldest.
    for (let i = 0; i < HELD; i++) await createOverRest(`evict-${i}`, `evict-${i}/first`);
    expect(held()).toBe(HELD);
    const first = servedBy('evict-0/first');

    const before = await built();
    await createOverRest(`evict-${HELD}`, `evict-${HELD}/first`); // evict-0 goes
    await createOverRest(`evict-${HELD - 1}`, `evict-${HELD - 1}/again`); // still held
    expect(await built()).toBe(before + 1);
    expect(servedBy(`evict-${HELD - 1}/again`)).toBe(servedBy(`evict-${HELD - 1}/first`));

    await createOverRest('evict-0', 'evict-0/again');
    expect(await built()).toBe(before + 2);
    const rebuilt = servedBy('evict-0/again');
    expect(rebuilt).toBeDefined();
    expect(rebuilt).not.toBe(first);
    expect(held()).toBe(HELD);
  });

  it('builds nothing for a token that fails verification, on any channel', async () => {
    // The one subtree of requests without a user exists once a request without a token was served.
    expect((await new RestClient(t.http).get('/api/threads')).status).toBe(401);
    const before = await built();
    const heldBefore = held();
    const wrongKey = new TextEncoder().encode('not-the-secret-of-this-server-0123456789');
    for (let i = 0; i < 20; i++) {
      const forged = await new SignJWT({ sub: `forged-${i}` })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(wrongKey);
      const res = await new RestClient(t.http, forged).get('/api/threads');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('unauthorized');
      expect(await WsClient.handshake(t.ws, { token: forged })).toBe(401);
    }
    expect(await built()).toBe(before);
    expect(held()).toBe(heldBefore);
  });
});
