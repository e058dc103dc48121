import { NotFoundException } from '@nestjs/common';
import type { Request } from 'express';
import { TokenService } from '../auth/token.service';
import { DevTokenController, isLocalHost, isLoopback } from './dev-token.controller';

describe('DevTokenController', () => {
  const tokens = { sign: jest.fn((user: string) => Promise.resolve(`token-of-${user}`)) };
  const controller = new DevTokenController(tokens as unknown as TokenService);
  const from = (remoteAddress: string, host = 'localhost:3000') =>
    ({ socket: { remoteAddress }, headers: { host } }) as unknown as Request;

  it('hands the machine it runs on a token for dev-user', async () => {
    await expect(controller.create(from('127.0.0.1'))).resolves.toEqual({
      token: 'token-of-dev-user',
      user_id: 'dev-user',
      expires_in: 12 * 3600,
    });
  });

  it('is not there for anyone else on the network', async () => {
    await expect(controller.create(from('192.168.1.20'))).rejects.toBeInstanceOf(NotFoundException);
  });

  it('is not there for a page of another name, rebound to this machine', async () => {
    await expect(controller.create(from('127.0.0.1', 'evil.example:3000'))).rejects.toBeInstanceOf(
      NotFoundException,
    );
  });

  it.each([
    ['localhost:3000', true],
    ['localhost', true],
    ['127.0.0.1:8080', true],
    ['[::1]:3000', true],
    ['localhost.evil.example', false],
    ['127.0.0.1.evil.example', false],
    ['evil.example', false],
    [undefined, false],
  ])('Host %s is local: %s', (host, local) => {
    expect(isLocalHost(host)).toBe(local);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:10.0.0.1', false],
    ['10.0.0.1', false],
    ['fe80::1', false],
    [undefined, false],
  ])('%s is loopback: %s', (address, loopback) => {
    expect(isLoopback(address)).toBe(loopback);
  });
});
