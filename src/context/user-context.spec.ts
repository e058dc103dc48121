import { UnauthorizedException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClsModule } from 'nestjs-cls';
import { setImmediate as turn } from 'node:timers/promises';
import { UserContext } from './user-context';

describe('UserContext', () => {
  let context: UserContext;
  beforeEach(async () => {
    const module = await Test.createTestingModule({
      imports: [ClsModule.forRoot({})],
      providers: [UserContext],
    }).compile();
    context = module.get(UserContext);
  });

  it('has no user outside a piece of work', () => {
    expect(() => context.userId).toThrow(UnauthorizedException);
    expect(context.requestId).toBe('');
  });

  it('keeps each piece of work to its own user across awaits, however they interleave', async () => {
    const seen = await Promise.all(
      ['alice', 'bob', 'carol'].map((id, i) =>
        context.runAs({ id }, `req-${i}`, async () => {
          const before = context.userId;
          await turn();
          await turn();
          return [before, context.userId, context.requestId];
        }),
      ),
    );
    expect(seen).toEqual([
      ['alice', 'alice', 'req-0'],
      ['bob', 'bob', 'req-1'],
      ['carol', 'carol', 'req-2'],
    ]);
  });

  it('gives a nested piece of work its own user and restores the outer one after it', async () => {
    await context.runAs({ id: 'alice' }, 'outer', async () => {
      const inner = await context.runAs({ id: 'bob' }, 'inner', () =>
        Promise.resolve(context.userId),
      );
      expect(inner).toBe('bob');
      expect(context.userId).toBe('alice');
      expect(context.requestId).toBe('outer');
    });
  });
});
