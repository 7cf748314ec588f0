import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class CreateProjectDto {
  @ApiProperty({ example: 'my-project', minLength: 1, maxLength: 200, description: 'Unique; stored literally' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;
}

export class ListProjectsQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Page size' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `X-Next-Cursor` header of the previous page' })
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
