// Application errors: a closed set of codes, mapped to Connect codes once, at the edge.
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'INTERNAL';

export type FieldViolation = { field: string; description: string };

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { reason?: string; metadata?: Record<string, string>; violations?: FieldViolation[] } = {},
  ) {
    super(message);
  }
}

export const invalidArgument = (violations: FieldViolation[]): AppError =>
  new AppError('INVALID_ARGUMENT', violations.map((v) => `${v.field}: ${v.description}`).join('; '), {
    reason: 'INVALID_ARGUMENT',
    violations,
  });
