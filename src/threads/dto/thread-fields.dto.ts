import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

export class CreateThreadDto {
  @ApiPropertyOptional({ maxLength: 500, example: 'Quarterly numbers' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  title?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { project: 'apollo' },
  })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

export class UpdateThreadDto extends CreateThreadDto {}
