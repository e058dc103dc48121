import { Injectable, UnauthorizedException } from '@nestjs/common';
import { ContextIdFactory, ModuleRef } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { PER_USER } from './per-user';
import { UserContext } from './user-context';
import { UserContextStrategy } from './user-context.strategy';

// A shared service as the product's are: per user, reading the user from UserContext.
@Injectable(PER_USER)
class Greeter {
  constructor(readonly ctx: UserContext) {}
}

describe('UserContextStrategy', () => {
  let strategy: UserContextStrategy;
  let moduleRef: ModuleRef;

  beforeEach(async () => {
    strategy = new UserContextStrategy(2);
    ContextIdFactory.apply(strategy);
    const module = await Test.createTestingModule({ providers: [UserContext, Greeter] }).compile();
    moduleRef = module.get(ModuleRef);
  });

  // What the router and the gateway do for a request or frame of `user`.
  const serve = (user?: string) => {
    const contextId = ContextIdFactory.getByRequest(user ? { verifiedUser: { id: user } } : {});
    return moduleRef.resolve(Greeter, contextId, { strict: false });
  };

  it("serves each user's requests with that user's one instance, and never another user's", async () => {
    const served = await Promise.all(['alice', 'bob', 'alice', 'bob', 'alice'].map(serve));
    expect(served.map((greeter) => greeter.ctx.userId)).toEqual([
      'alice',
      'bob',
      'alice',
      'bob',
      'alice',
    ]);
    expect(new Set(served).size).toBe(2);
    expect(served[0]).toBe(served[2]);
    expect(served[1]).toBe(served[3]);
    expect(strategy.held).toBe(2);
  });

  it('lets the least recently used user go past the bound, and rebuilds its subtree on its next request', async () => {
    const alice = await serve('alice');
    await serve('bob');
    expect(await serve('alice')).toBe(alice); // alice is now the most recent
    const bob = await serve('bob');
    await serve('carol'); // past the bound of 2: alice goes
    expect(strategy.held).toBe(2);
    expect(await serve('bob')).toBe(bob);
    const again = await serve('alice');
    expect(again).not.toBe(alice);
    expect(again.ctx.userId).toBe('alice');
  });

  it('gives requests without a verified user one shared subtree that has no user', async () => {
    const [first, second] = await Promise.all([serve(), serve()]);
    expect(first).toBe(second);
    expect(() => first.ctx.userId).toThrow(UnauthorizedException);
    expect(strategy.held).toBe(0);
  });
});
