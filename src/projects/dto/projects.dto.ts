import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

/** Anything but a UUID: a project reference shaped like one is always read as an id. */
const NOT_A_UUID = /^(?!\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*$)/i;
const NOT_A_UUID_MESSAGE = 'name must not be shaped like a UUID (project references of that shape are ids)';

export class CreateProjectDto {
  @ApiProperty({
    example: 'my-project',
    minLength: 1,
    maxLength: 200,
    description: 'Unique; stored literally; not shaped like a UUID',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  @Matches(NOT_A_UUID, { message: NOT_A_UUID_MESSAGE })
  name: string;
}

/** Calyptia's UpdateProject: null (like absence) means "leave unchanged". */
export class UpdateProjectDto {
  @ApiPropertyOptional({
    example: 'renamed-project',
    minLength: 1,
    maxLength: 200,
    type: String,
    nullable: true,
    description: 'New name (unique, not shaped like a UUID); null or absent: unchanged',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  @Matches(NOT_A_UUID, { message: NOT_A_UUID_MESSAGE })
  name?: string | null;
}

export class ListProjectsQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 1000,
    description: 'Calyptia style: the last (newest) N projects, i.e. the page size (default 100)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  last?: number;

  @ApiPropertyOptional({
    description: 'Calyptia style: only projects older than this cursor (the `before` of the `Link` header)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  before?: string;

  @ApiPropertyOptional({ description: 'Only the project with exactly this name' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Page size' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `X-Next-Cursor` header of the previous page (same as `before`)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class ProjectDto {
  @ApiProperty({ format: 'uuid', example: '123e4567-e89b-12d3-a456-426614174000' }) id: string;
  @ApiProperty({ example: 'my-project' }) name: string;
  @ApiProperty({ format: 'date-time', example: '2024-10-16T08:53:31.967Z' }) createdAt: string;
}

/** Calyptia's `Deleted` answer. */
export class DeletedDto {
  @ApiProperty({ example: true }) deleted: boolean;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: '2024-10-16T08:53:31.967Z' })
  deletedAt: string | null;
}
