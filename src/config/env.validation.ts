import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

export class EnvironmentVariables {
  @IsIn(NODE_ENVS)
  NODE_ENV: NodeEnv = 'development';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  // Filled in by prepareRuntime() with the embedded database when the user gives none.
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL: string;

  @IsString()
  @MinLength(16, { message: 'JWT_SECRET must be at least 16 characters' })
  JWT_SECRET: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  // How often an idle SSE stream gets a keep-alive comment line.
  @Type(() => Number)
  @IsInt()
  @Min(10)
  SSE_HEARTBEAT_MS = 15_000;

  // How often the server pings each WebSocket; a socket that missed the previous ping is dropped.
  @Type(() => Number)
  @IsInt()
  @Min(10)
  WS_HEARTBEAT_MS = 30_000;
}

export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false });
  if (errors.length > 0) {
    const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}));
    throw new Error(`Invalid configuration:\n  - ${lines.join('\n  - ')}`);
  }
  if (env.NODE_ENV === 'production' && env.JWT_SECRET.length < 32) {
    throw new Error(
      'Invalid configuration:\n  - JWT_SECRET must be at least 32 characters in production',
    );
  }
  return env;
}
